// Every page of the app: real paths, each screen loaded when first visited (Home comes with the
// first load). Chat's pages are the chat folder's: everything under /chat (and /join) goes to its
// entry component, `src/chat/Chat.svelte`, which routes within itself from `params.rest`.
import type { Component } from "svelte";
import Home from "./screens/home/Home.svelte";

export interface ScreenProps {
  /** The path's parameters (`slug`, `username`...; `rest` for a trailing `*`). */
  params: Record<string, string>;
  /** The whole path, e.g. "/chat/12" or "/join/abc". */
  path: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- screens differ in their props
type AnyComponent = Component<any>;
type Loader = () => Promise<{ default: AnyComponent }>;

export interface Route {
  pattern: string;
  load: Loader;
  /** Only for signed-in people: others are sent to /login and come back after. */
  auth?: boolean;
  /** Only for signed-out people (sign in, sign up): others go home. */
  guest?: boolean;
}

const chatEntry = import.meta.glob<{ default: AnyComponent }>("./chat/Chat.svelte");
const chat: Loader = () => {
  const load = chatEntry["./chat/Chat.svelte"];
  return load ? load() : import("./screens/NotFound.svelte");
};

export const routes: Route[] = [
  { pattern: "/", load: () => Promise.resolve({ default: Home }) },
  { pattern: "/login", load: () => import("./screens/auth/SignIn.svelte"), guest: true },
  { pattern: "/register", load: () => import("./screens/auth/SignUp.svelte"), guest: true },
  { pattern: "/forgot-password", load: () => import("./screens/auth/ForgotPassword.svelte") },
  { pattern: "/confirm-email", load: () => import("./screens/auth/ConfirmEmail.svelte") },
  { pattern: "/reset-password", load: () => import("./screens/auth/ResetPassword.svelte") },
  { pattern: "/article/:slug", load: () => import("./screens/article/Article.svelte") },
  { pattern: "/editor", load: () => import("./screens/editor/Editor.svelte"), auth: true },
  { pattern: "/editor/:slug", load: () => import("./screens/editor/Editor.svelte"), auth: true },
  { pattern: "/profile/:username", load: () => import("./screens/profile/Profile.svelte") },
  { pattern: "/settings", load: () => import("./screens/settings/Settings.svelte"), auth: true },
  {
    pattern: "/notifications",
    load: () => import("./screens/notifications/Notifications.svelte"),
    auth: true,
  },
  { pattern: "/chat", load: chat, auth: true },
  { pattern: "/chat/*", load: chat, auth: true },
  { pattern: "/join/*", load: chat, auth: true },
];

export const notFound: Loader = () => import("./screens/NotFound.svelte");

/** Where to go after signing in: a path of ours from `?next=`, else home (never another site). */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")
    ? next
    : "/";
}
