// The app's API: one client for the whole page, its token in localStorage.
import { createApi } from "./client";

function browserStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export const api = createApi({
  storage: browserStorage(),
  // Absolute, so that requests are the same whatever Request implementation builds them.
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
});

/** Shorthands: `await call(client.GET("/api/tags"))`. */
export const { client, call, upload } = api;

export { ApiError, errorSentence, parseApiError, type FieldErrors } from "./errors";
export { createApi, type Api, type ApiOptions, type FetchLike, type Schemas } from "./client";
export type { Tokens } from "./tokens";

export type Article = import("./client").Schemas["posts_ArticleOut"];
export type Profile = import("./client").Schemas["social_ProfileOut"];
export type User = import("./client").Schemas["auth_UserOut"];
export type Comment = import("./client").Schemas["posts_CommentOut"];
