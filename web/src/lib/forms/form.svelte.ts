// The state of one form: busy while it submits, the API's error (its sentence, and per field the
// message shown next to that field), and focus moved to the first field at fault.
import { ApiError, errorSentence } from "$lib/api";

export interface FieldSpec {
  /** The API's field name (`errors.<field>` key), e.g. "title", "ingredients". */
  field: string;
  /** The field's visible label, e.g. "Title". */
  label: string;
}

/** The text to show next to each field of `specs` that the error names; fields without are absent. */
export function fieldMessages(error: unknown, specs: FieldSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const { field, label } of specs) {
    const text = error.fieldText(field, label);
    if (text) out[field] = text;
  }
  const body = specs.find((s) => s.field === "body");
  const named = bodyFieldMessage(error);
  if (body && named !== null && Object.keys(error.fields).length === 0) {
    out["body"] = `${body.label} ${named}`;
  }
  return out;
}

/**
 * A field named `body` (a recipe's, a comment's) has its messages under `errors.body`, the key
 * of the API's sentences, so they arrive as the sentence alone: "body length must be between
 * 1 and 10000". This is that message without the field's name, or null for other sentences.
 */
function bodyFieldMessage(error: ApiError): string | null {
  if (error.status !== 422) return null;
  const found = /^body\s+(.+?)\.?$/i.exec(error.sentence);
  return found?.[1] ?? null;
}

/**
 * The sentence for the whole form, or null. When every message of the API shows next to its
 * field, the form's sentence only says how many fields to correct, instead of repeating them.
 */
export function formSentence(error: unknown, specs: FieldSpec[] = []): string | null {
  if (!error) return null;
  const shown = Object.keys(fieldMessages(error, specs)).length;
  if (error instanceof ApiError && shown > 0) {
    const covered = Object.keys(error.fields).every((key) =>
      specs.some(({ field }) => key === field || key.startsWith(`${field}.`)),
    );
    if (covered) {
      return shown === 1
        ? "Please correct the field marked below."
        : `Please correct the ${shown} fields marked below.`;
    }
  }
  return errorSentence(error);
}

export class FormState {
  busy = $state(false);
  error = $state<unknown>(null);
  readonly specs: FieldSpec[];
  /** The id prefix of this form's fields: `${prefix}-${field}` and `${prefix}-${field}-error`. */
  readonly prefix: string;

  constructor(prefix: string, specs: FieldSpec[]) {
    this.prefix = prefix;
    this.specs = specs;
  }

  get sentence(): string | null {
    return formSentence(this.error, this.specs);
  }

  get messages(): Record<string, string> {
    return fieldMessages(this.error, this.specs);
  }

  id(field: string): string {
    return `${this.prefix}-${field.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  }

  errorId(field: string): string {
    return `${this.id(field)}-error`;
  }

  /** Runs `action`; on failure keeps its error and moves focus to the first field at fault. */
  async submit<T>(action: () => Promise<T>): Promise<T | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    this.error = null;
    try {
      return await action();
    } catch (error) {
      this.error = error;
      this.focusFirstInvalid();
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  private focusFirstInvalid(): void {
    if (typeof document === "undefined") return;
    const first = this.specs.find((s) => this.messages[s.field]);
    if (!first) return;
    // Centred, so that no sticky bar (the editor's "Publish") covers the field it lands on.
    queueMicrotask(() => {
      const field = document.getElementById(this.id(first.field));
      field?.focus({ preventScroll: true });
      field?.scrollIntoView?.({ block: "center" });
    });
  }
}
