import { describe, expect, it } from "vitest";
import { parseTags, sentIndex, toPayload, type Draft } from "./draft";

const base: Draft = {
  title: "  Pie ",
  description: " Sweet ",
  body: "Bake it.",
  tags: "",
  complexity: "",
  cookingMinutes: "",
  ingredients: [],
  media: [],
};

describe("the editor's draft", () => {
  it("splits tags on commas, without blanks or repeats", () => {
    expect(parseTags(" dessert, Fruit ,, dessert,fruit , slow  cooker")).toEqual([
      "dessert",
      "Fruit",
      "slow cooker",
    ]);
  });

  it("sends filled ingredient rows only, and null for an unset time or complexity", () => {
    const payload = toPayload({
      ...base,
      ingredients: [
        { key: 1, name: "apples", quantity: "4" },
        { key: 2, name: "", quantity: "" },
        { key: 3, name: " flour ", quantity: "200 g " },
      ],
    });
    expect(payload).toEqual({
      title: "Pie",
      description: "Sweet",
      body: "Bake it.",
      tagList: [],
      complexity: null,
      cookingMinutes: null,
      ingredients: [
        { name: "apples", quantity: "4" },
        { name: "flour", quantity: "200 g" },
      ],
      media: [],
    });
  });

  it("sends the time as a number and the complexity as chosen", () => {
    const payload = toPayload({ ...base, cookingMinutes: 45, complexity: "hard" });
    expect(payload.cookingMinutes).toBe(45);
    expect(payload.complexity).toBe("hard");
    expect(toPayload({ ...base, cookingMinutes: null }).cookingMinutes).toBeNull();
    expect(toPayload({ ...base, cookingMinutes: " 30 " }).cookingMinutes).toBe(30);
  });

  it("maps a row to the index the API names in its errors", () => {
    const rows = [
      { key: 1, name: "", quantity: "" },
      { key: 2, name: "salt", quantity: "" },
      { key: 3, name: "", quantity: "2" },
    ];
    expect(sentIndex(rows, 0)).toBeNull();
    expect(sentIndex(rows, 1)).toBe(0);
    expect(sentIndex(rows, 2)).toBe(1);
  });
});
