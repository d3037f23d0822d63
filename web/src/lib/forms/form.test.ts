import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, parseApiError } from "$lib/api";
import SignUp from "../../screens/auth/SignUp.svelte";
import { fieldMessages, formSentence } from "./form.svelte";

describe("fieldMessages", () => {
  const specs = [
    { field: "username", label: "Username" },
    { field: "email", label: "Email" },
    { field: "ingredients", label: "Ingredients:" },
  ];

  it("puts each API message next to its field, under the field's label", () => {
    const error = parseApiError(422, {
      errors: {
        body: ["email has already been taken"],
        email: ["has already been taken"],
        "ingredients.1.name": ["length must be between 1 and 100"],
      },
    });
    expect(fieldMessages(error, specs)).toEqual({
      email: "Email has already been taken",
      ingredients: "Ingredients: length must be between 1 and 100",
    });
  });

  it("puts the message of a field named body next to it, though it comes as the sentence", () => {
    const error = parseApiError(422, {
      errors: { body: ["body length must be between 1 and 100000"] },
    });
    expect(fieldMessages(error, [...specs, { field: "body", label: "Body" }])).toEqual({
      body: "Body length must be between 1 and 100000",
    });
    expect(fieldMessages(error, [{ field: "body", label: "Comment" }])).toEqual({
      body: "Comment length must be between 1 and 100000",
    });
    // A form without such a field, or another sentence, marks nothing.
    expect(fieldMessages(error, specs)).toEqual({});
    const other = parseApiError(422, { errors: { body: ["the recipe was changed meanwhile"] } });
    expect(fieldMessages(other, [{ field: "body", label: "Body" }])).toEqual({});
  });

  it("keeps the API's sentence for the form when a message has no field of the form", () => {
    const login = parseApiError(422, {
      errors: { body: ["email or password is invalid"], "email or password": ["is invalid"] },
    });
    expect(formSentence(login, specs)).toBe("Email or password is invalid.");
    const taken = parseApiError(422, {
      errors: { body: ["email has already been taken"], email: ["has already been taken"] },
    });
    expect(formSentence(taken, specs)).toBe("Please correct the field marked below.");
    expect(formSentence(new ApiError(0, "Cannot reach the server."), specs)).toBe(
      "Cannot reach the server.",
    );
    expect(formSentence(null, specs)).toBeNull();
  });

  it("shows nothing next to fields for errors that name none", () => {
    expect(fieldMessages(new ApiError(0, "Cannot reach the server."), specs)).toEqual({});
    expect(fieldMessages(new Error("boom"), specs)).toEqual({});
    expect(fieldMessages(null, specs)).toEqual({});
  });
});

describe("the sign-up form", () => {
  let target: HTMLElement;
  let component: ReturnType<typeof mount> | null = null;

  beforeEach(() => {
    target = document.createElement("div");
    document.body.append(target);
  });

  afterEach(() => {
    if (component) unmount(component);
    component = null;
    target.remove();
    vi.unstubAllGlobals();
  });

  function field(label: string): HTMLInputElement {
    const labelElement = [...target.querySelectorAll("label")].find((l) => l.textContent === label);
    const input = labelElement && document.getElementById(labelElement.htmlFor);
    if (!(input instanceof HTMLInputElement)) throw new Error(`no field labelled ${label}`);
    return input;
  }

  function describedText(input: HTMLElement): string {
    return (input.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? "")
      .filter(Boolean)
      .join(" | ");
  }

  async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 0));
      flushSync();
    }
  }

  it("shows the API's messages next to their fields, described and marked invalid", async () => {
    const requests: string[] = [];
    vi.stubGlobal("fetch", async (request: Request) => {
      requests.push(`${request.method} ${new URL(request.url).pathname} ${await request.text()}`);
      return new Response(
        JSON.stringify({
          errors: {
            body: ["username has already been taken", "password must be 8 to 256 characters long"],
            username: ["has already been taken"],
            password: ["must be 8 to 256 characters long"],
          },
        }),
        { status: 422, headers: { "Content-Type": "application/json" } },
      );
    });
    component = mount(SignUp, { target });
    flushSync();

    field("Username").value = "cook001";
    field("Username").dispatchEvent(new Event("input"));
    field("Email").value = "cook@example.com";
    field("Email").dispatchEvent(new Event("input"));
    field("Password").value = "short";
    field("Password").dispatchEvent(new Event("input"));
    target.querySelector("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();

    expect(requests).toEqual([
      'POST /api/users {"user":{"username":"cook001","email":"cook@example.com","password":"short"}}',
    ]);
    // Every message shows next to its field: the form's alert counts them, without repeating.
    expect(target.querySelector('[role="alert"]')?.textContent?.trim()).toBe(
      "Please correct the 2 fields marked below.",
    );
    expect(field("Username").getAttribute("aria-invalid")).toBe("true");
    expect(describedText(field("Username"))).toContain("Username has already been taken");
    expect(field("Password").getAttribute("aria-invalid")).toBe("true");
    expect(describedText(field("Password"))).toContain("Password must be 8 to 256 characters long");
    expect(field("Email").hasAttribute("aria-invalid")).toBe(false);
    expect(describedText(field("Email"))).toBe("");
    // Focus goes to the first field at fault, so a keyboard or screen reader user lands on it.
    expect(document.activeElement).toBe(field("Username"));
  });

  it("shows a failure to reach the server as a sentence, with no field marked", async () => {
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("Failed to fetch")));
    component = mount(SignUp, { target });
    flushSync();
    target.querySelector("form")?.dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();
    expect(target.querySelector('[role="alert"]')?.textContent).toMatch(/Cannot reach the server/);
    expect(target.querySelectorAll('[aria-invalid="true"]')).toHaveLength(0);
  });
});
