// The page's one chat socket: open while someone is signed in, with the session's token, and
// shown as a banner while it is away.
import { api, ApiError, call, client } from "$lib/api";
import { notices } from "$lib/ui/notices.svelte";
import { ChatSocket, socketUrl } from "./client";

export { ChatSocket, socketUrl, type ConnectionState, type ConnectionStatus } from "./client";
export type * from "./events";

const BANNER = "chat-connection";

export const chatSocket = new ChatSocket({
  url: () => {
    const token = api.token();
    return token === null ? null : socketUrl(window.location.origin, token);
  },
  probe: async () => {
    try {
      await call(client.GET("/api/user"));
      return true;
    } catch (error) {
      // Only a 401 ends the session (and the API module has forgotten it then).
      return !(error instanceof ApiError && error.status === 401);
    }
  },
});

let bound = false;

/** Keeps the socket open while signed in (idempotent); the app calls it once at start. */
export function connectChat(): void {
  if (bound || typeof window === "undefined") return;
  bound = true;
  const follow = (signedIn: boolean) => {
    if (signedIn) chatSocket.start();
    else chatSocket.stop();
  };
  follow(api.token() !== null);
  api.tokens.subscribe((tokens) => follow(tokens !== null));
  chatSocket.state.subscribe((status) => {
    if (status.state === "reconnecting") {
      notices.show(BANNER, "Connection lost. Reconnecting…", "warning");
    } else {
      notices.clear(BANNER);
    }
  });
  // Back online, or back to the tab: no need to wait for the back-off.
  window.addEventListener("online", () => chatSocket.retryNow());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") chatSocket.retryNow();
  });
}
