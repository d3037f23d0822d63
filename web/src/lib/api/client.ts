// The one module that talks to the API: it owns the session's token, sends it on every call
// (reads included, so "following" and "liked" are right after a reload), turns error answers into
// ApiError, and on a 401 refreshes the token once (when it has a refresh token) or signs out.
import createClient from "openapi-fetch";
import { ApiError, parseApiError } from "./errors";
import type { components, paths } from "./schema";
import { TokenStore, type TokenStorage, type Tokens } from "./tokens";

export type Schemas = components["schemas"];
export type FetchLike = (request: Request) => Promise<Response>;

export interface ApiOptions {
  /** The fetch to use (tests pass a stand-in); the browser's by default. */
  fetch?: FetchLike;
  /** Where the token is kept; `localStorage` in the app, null keeps it in memory only. */
  storage?: TokenStorage | null;
  /** Origin of the API, "" for the page's own. */
  baseUrl?: string;
  /** Deadline of one call, in milliseconds. */
  timeoutMs?: number;
}

/** Calls whose 401 means "wrong credentials", not "the session ended". */
const NO_SESSION_PATHS = ["/api/users/login", "/api/auth/refresh", "/api/auth/password-reset"];

const TIMEOUT_SENTENCE = "The server took too long to answer. Please try again.";

export interface UploadOptions {
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** The name of a thrown DOMException (of whichever realm) or Error. */
function errorName(error: unknown): string | null {
  return error && typeof error === "object" && "name" in error && typeof error.name === "string"
    ? error.name
    : null;
}

export function createApi(options: ApiOptions = {}) {
  const tokens = new TokenStore(options.storage ?? null);
  const baseUrl = options.baseUrl ?? "";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const send: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  let refreshing: Promise<boolean> | null = null;

  function withToken(request: Request, current: Tokens | null): Request {
    const headers = new Headers(request.headers);
    if (current) headers.set("Authorization", `Token ${current.token}`);
    else headers.delete("Authorization");
    return new Request(request, { headers });
  }

  async function refresh(spent: Tokens): Promise<boolean> {
    if (!spent.refreshToken) return false;
    const request = new Request(`${baseUrl}/api/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: spent.refreshToken }),
    });
    try {
      const response = await send(request);
      if (!response.ok) return false;
      const body = (await response.json()) as Schemas["auth_UserEnvelopeOut"];
      tokens.set({ token: body.user.token, refreshToken: body.user.refreshToken });
      return true;
    } catch {
      return false;
    }
  }

  /** One refresh at a time: calls that fail together wait for the same one. */
  function refreshOnce(spent: Tokens): Promise<boolean> {
    refreshing ??= refresh(spent).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function authFetch(request: Request): Promise<Response> {
    const sent = tokens.get();
    const spare = request.clone();
    const response = await send(withToken(request, sent));
    if (response.status !== 401 || !sent) return response;
    const path = new URL(request.url, "http://localhost").pathname;
    if (NO_SESSION_PATHS.includes(path)) return response;
    const now = tokens.get();
    if (now && now.token !== sent.token) return send(withToken(spare, now));
    if (await refreshOnce(sent)) return send(withToken(spare, tokens.get()));
    // The session ended (signed out elsewhere, password changed, expired): forget it.
    if (tokens.get()?.token === sent.token) tokens.set(null);
    return response;
  }

  const client = createClient<paths>({
    baseUrl,
    fetch: (request: Request) => {
      const signal = AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]);
      return authFetch(new Request(request, { signal }));
    },
  });

  /** Resolves to the answer's data, or throws ApiError with the sentence to show. */
  async function call<T>(
    pending: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<T> {
    let result: { data?: T; error?: unknown; response: Response };
    try {
      result = await pending;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const name = errorName(error);
      if (name === "TimeoutError") throw new ApiError(0, TIMEOUT_SENTENCE);
      if (name === "AbortError") throw error;
      throw parseApiError(0, null);
    }
    const { response } = result;
    if (!response.ok) {
      throw parseApiError(response.status, result.error, response.headers.get("Retry-After"));
    }
    return result.data as T;
  }

  /**
   * Uploads one file as the multipart part `file` (`/api/media`, `/api/chat/attachments`), with
   * progress, which fetch cannot report.
   */
  function upload<T>(path: string, file: Blob, opts: UploadOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${baseUrl}${path}`);
      const current = tokens.get();
      if (current) xhr.setRequestHeader("Authorization", `Token ${current.token}`);
      xhr.responseType = "json";
      xhr.timeout = Math.max(timeoutMs, 120_000);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0)
          opts.onProgress?.(event.loaded / event.total);
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          opts.onProgress?.(1);
          resolve(xhr.response as T);
          return;
        }
        if (xhr.status === 401 && current && tokens.get()?.token === current.token)
          tokens.set(null);
        reject(parseApiError(xhr.status, xhr.response, xhr.getResponseHeader("Retry-After")));
      };
      xhr.onerror = () => reject(parseApiError(0, null));
      xhr.ontimeout = () => reject(new ApiError(0, TIMEOUT_SENTENCE));
      xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
      opts.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      const form = new FormData();
      form.append("file", file, file instanceof File ? file.name : "file");
      xhr.send(form);
    });
  }

  /**
   * Signs out: forgets the session here at once, so that no call made meanwhile (the page the
   * user lands on) carries a token the server is about to refuse, then ends it on the server
   * with the token it had. Throws ApiError when the server could not end it.
   */
  async function endSession(): Promise<void> {
    const current = tokens.get();
    tokens.set(null);
    if (!current) return;
    const request = new Request(`${baseUrl}/api/auth/logout`, {
      method: "POST",
      headers: { Authorization: `Token ${current.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    let response: Response;
    try {
      response = await send(request);
    } catch (error) {
      throw errorName(error) === "TimeoutError"
        ? new ApiError(0, TIMEOUT_SENTENCE)
        : parseApiError(0, null);
    }
    if (!response.ok) {
      const body: unknown = await response.json().catch(() => null);
      throw parseApiError(response.status, body);
    }
  }

  return {
    /** The typed openapi-fetch client: `api.client.GET("/api/articles", {...})`. */
    client,
    call,
    upload,
    tokens,
    endSession,
    /** The access token (for the websocket's `?token=`), or null when signed out. */
    token: (): string | null => tokens.get()?.token ?? null,
  };
}

export type Api = ReturnType<typeof createApi>;
