// The session's tokens, kept in localStorage so that a reload (or another tab) stays signed in.

export interface Tokens {
  token: string;
  refreshToken: string | null;
}

/** The part of the Storage interface we use, so tests can pass their own. */
export type TokenStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const KEY = "chopchop.session";

export class TokenStore {
  private listeners = new Set<(tokens: Tokens | null) => void>();
  private readonly storage: TokenStorage | null;
  /** The tokens of this page, used when storage is unavailable. */
  private memory: Tokens | null = null;

  constructor(storage: TokenStorage | null) {
    this.storage = storage;
  }

  get(): Tokens | null {
    if (!this.storage) return this.memory;
    let raw: string | null;
    try {
      raw = this.storage.getItem(KEY);
    } catch {
      return this.memory;
    }
    if (!raw) return null;
    try {
      const value: unknown = JSON.parse(raw);
      if (value && typeof value === "object" && typeof (value as Tokens).token === "string") {
        const { token, refreshToken } = value as Tokens;
        return { token, refreshToken: typeof refreshToken === "string" ? refreshToken : null };
      }
    } catch {
      // A damaged entry is the same as none.
    }
    return null;
  }

  set(tokens: Tokens | null): void {
    this.memory = tokens;
    try {
      if (tokens) this.storage?.setItem(KEY, JSON.stringify(tokens));
      else this.storage?.removeItem(KEY);
    } catch {
      // Storage may be disabled (private mode, quota): the session then lasts as long as the page.
    }
    for (const listener of this.listeners) listener(tokens);
  }

  /** Called with the new tokens (or null once signed out) whenever they change in this tab. */
  subscribe(listener: (tokens: Tokens | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const STORAGE_KEY = KEY;
