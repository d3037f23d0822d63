import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Tabs from "./Tabs.svelte";

describe("a row of tabs", () => {
  let target: HTMLElement;
  let component: ReturnType<typeof mount> | null = null;
  let selected: string[];

  beforeEach(() => {
    target = document.createElement("div");
    document.body.append(target);
    selected = [];
    component = mount(Tabs, {
      target,
      props: {
        tabs: [
          { id: "recipes", label: "Recipes" },
          { id: "liked", label: "Liked" },
          { id: "followers", label: "Followers" },
        ],
        selected: "liked",
        label: "jake's page",
        tabId: (id: string) => `t-${id}`,
        panelId: (id: string) => `p-${id}`,
        onselect: (id: string) => selected.push(id),
      },
    });
    flushSync();
  });

  afterEach(() => {
    if (component) unmount(component);
    component = null;
    target.remove();
  });

  function tab(id: string): HTMLElement {
    const element = document.getElementById(`t-${id}`);
    if (!element) throw new Error(`no tab ${id}`);
    return element;
  }

  it("puts only the selected tab in the tab order, each naming its panel", () => {
    expect(target.querySelector('[role="tablist"]')?.getAttribute("aria-label")).toBe(
      "jake's page",
    );
    expect(tab("liked").getAttribute("aria-selected")).toBe("true");
    expect(tab("liked").tabIndex).toBe(0);
    expect(tab("recipes").tabIndex).toBe(-1);
    expect(tab("followers").getAttribute("aria-controls")).toBe("p-followers");
  });

  it("selects with the arrow keys, wrapping around, and with Home and End", () => {
    const press = (id: string, key: string): void => {
      tab(id).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
    };
    press("liked", "ArrowRight");
    press("liked", "ArrowLeft");
    press("recipes", "ArrowLeft");
    press("liked", "Home");
    press("liked", "End");
    press("liked", "a");
    expect(selected).toEqual(["followers", "recipes", "followers", "recipes", "followers"]);
  });

  it("selects the tab clicked", () => {
    tab("recipes").click();
    expect(selected).toEqual(["recipes"]);
  });
});
