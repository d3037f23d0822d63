import { describe, expect, it } from "vitest";
import { safeNext } from "../../routes";
import { match } from "./router.svelte";

describe("match", () => {
  it("reads parameters from the path", () => {
    expect(match("/article/:slug", "/article/apple-pie")).toEqual({ slug: "apple-pie" });
    expect(match("/profile/:username", "/profile/cook001/")).toEqual({ username: "cook001" });
    expect(match("/", "/")).toEqual({});
  });

  it("refuses paths of another shape", () => {
    expect(match("/article/:slug", "/article")).toBeNull();
    expect(match("/article/:slug", "/article/a/b")).toBeNull();
    expect(match("/editor", "/editor/pie")).toBeNull();
    expect(match("/", "/settings")).toBeNull();
  });

  it("gives the rest of the path to a trailing *", () => {
    expect(match("/chat/*", "/chat/12")).toEqual({ rest: "12" });
    expect(match("/chat/*", "/chat/new")).toEqual({ rest: "new" });
    expect(match("/join/*", "/join/abc")).toEqual({ rest: "abc" });
  });
});

describe("safeNext", () => {
  it("goes back to one of our pages after signing in, never to another site", () => {
    expect(safeNext("/article/pie?x=1")).toBe("/article/pie?x=1");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example/")).toBe("/");
    expect(safeNext("javascript:alert(1)")).toBe("/");
  });
});
