// Errors of the API (`{"errors": {"body": [sentences], "<field>": [messages]}}`) as one typed value.

/** Per-field messages, keyed by the API's field path (`title`, `ingredients.0.name`). */
export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  /** HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** The sentence to show to the person (the API's `errors.body`, joined). */
  readonly sentence: string;
  /** The API's per-field messages (without the field name: "has already been taken"). */
  readonly fields: FieldErrors;
  /** Seconds to wait before trying again (429 and 503 answers), when the server says. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    sentence: string,
    fields: FieldErrors = {},
    retryAfter: number | null = null,
  ) {
    super(sentence);
    this.name = "ApiError";
    this.status = status;
    this.sentence = sentence;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /** The messages of one field, or of every nested field under it (`ingredients` covers `ingredients.0.name`). */
  messagesFor(field: string): string[] {
    const out: string[] = [];
    for (const [key, messages] of Object.entries(this.fields)) {
      if (key === field || key.startsWith(`${field}.`)) out.push(...messages);
    }
    return out;
  }

  /** What to show next to a field whose visible label is `label`: "Email has already been taken". */
  fieldText(field: string, label: string): string | null {
    const messages = this.messagesFor(field);
    if (messages.length === 0) return null;
    return messages.map((m) => `${label} ${m}`).join(". ");
  }
}

const FALLBACK: Record<number, string> = {
  0: "Cannot reach the server. Check your connection and try again.",
  400: "The request was not understood.",
  401: "Please sign in again.",
  403: "You are not allowed to do this.",
  404: "Not found.",
  409: "This conflicts with a change made meanwhile. Reload and try again.",
  413: "This is too large.",
  422: "Some of the values are not valid.",
  429: "Too many requests. Please wait a moment and try again.",
};

function fallbackSentence(status: number): string {
  return (
    FALLBACK[status] ??
    (status >= 500 ? "The server had a problem. Please try again." : `Request failed (${status}).`)
  );
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function sentenceCase(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const first = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Builds the ApiError of an answer whose body (already parsed, or text) is `body`. */
export function parseApiError(
  status: number,
  body: unknown,
  retryAfterHeader: string | null = null,
): ApiError {
  const retryAfter =
    retryAfterHeader !== null && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : null;
  const fields: FieldErrors = {};
  let sentences: string[] = [];
  if (body && typeof body === "object" && "errors" in body) {
    const errors = (body as { errors: unknown }).errors;
    if (errors && typeof errors === "object") {
      for (const [key, value] of Object.entries(errors as Record<string, unknown>)) {
        if (!isStringArray(value)) continue;
        if (key === "body") sentences = value;
        else fields[key] = value;
      }
    }
  }
  let sentence = sentences.length
    ? sentences.map(sentenceCase).join(" ")
    : fallbackSentence(status);
  if (status === 429 && retryAfter !== null && !/\bwait|again\b/i.test(sentence)) {
    sentence = `${sentence} Try again in ${retryAfter} s.`;
  }
  return new ApiError(status, sentence, fields, retryAfter);
}

/** The sentence to show for anything a call threw. */
export function errorSentence(error: unknown): string {
  if (error instanceof ApiError) return error.sentence;
  if (error instanceof DOMException && error.name === "AbortError")
    return "The request was cancelled.";
  return FALLBACK[0]!;
}
