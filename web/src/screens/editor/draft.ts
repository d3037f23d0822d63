// The editor's fields as typed, and the article the API takes from them.
import type { Schemas } from "$lib/api";

export interface IngredientRow {
  key: number;
  name: string;
  quantity: string;
}

export interface Draft {
  title: string;
  description: string;
  body: string;
  /** Comma-separated, as typed. */
  tags: string;
  complexity: "" | "easy" | "medium" | "hard";
  /** As typed (a number input gives a number, or "" when empty). */
  cookingMinutes: string | number | null;
  ingredients: IngredientRow[];
  media: string[];
}

/** Tags as the person meant them: split on commas, trimmed, without blanks or repeats. */
export function parseTags(text: string): string[] {
  const out: string[] = [];
  const lower = new Set<string>();
  for (const part of text.split(",")) {
    const tag = part.trim().replace(/\s+/g, " ");
    if (!tag || lower.has(tag.toLowerCase())) continue;
    lower.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

/** Whether a row is sent (rows left empty are not). */
export function isFilled(row: IngredientRow): boolean {
  return row.name.trim() !== "" || row.quantity.trim() !== "";
}

/** The index in the request of the draft's row `index` (the API's `ingredients.<i>`), or null. */
export function sentIndex(rows: IngredientRow[], index: number): number | null {
  const row = rows[index];
  if (!row || !isFilled(row)) return null;
  return rows.slice(0, index).filter(isFilled).length;
}

/** The request body: empty ingredient rows are left out, an empty time or complexity is null. */
export function toPayload(draft: Draft): Schemas["posts_NewArticleIn"] {
  const raw = draft.cookingMinutes;
  const minutes = typeof raw === "string" ? raw.trim() : raw;
  // The number field lets through only numbers; the API says what is wrong with one (1.5, -3).
  const cookingMinutes = minutes === null || minutes === "" ? null : Number(minutes);
  return {
    title: draft.title.trim(),
    description: draft.description.trim(),
    body: draft.body,
    tagList: parseTags(draft.tags),
    complexity: draft.complexity === "" ? null : draft.complexity,
    cookingMinutes,
    ingredients: draft.ingredients
      .filter(isFilled)
      .map((row) => ({ name: row.name.trim(), quantity: row.quantity.trim() })),
    media: draft.media,
  };
}
