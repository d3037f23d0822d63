// Who is signed in, for every screen: the current user, sign-in, sign-up and sign-out.
// The token itself lives in the API module; this store follows it (a 401 that ends the session
// there signs out here too, and so does signing out in another tab).
import { api, call, client, ApiError, type User } from "$lib/api";
import { STORAGE_KEY } from "$lib/api/tokens";

class Session {
  /** The signed-in user, or null. */
  user = $state<User | null>(null);
  /** False until the stored token (if any) was checked once at start. */
  ready = $state(false);
  /** Why the stored session could not be checked (server unreachable), else null. */
  startError = $state<string | null>(null);

  get signedIn(): boolean {
    return this.user !== null;
  }

  constructor() {
    api.tokens.subscribe((tokens) => {
      if (!tokens) this.user = null;
    });
    if (typeof window !== "undefined") {
      window.addEventListener("storage", (event) => {
        if (event.key === STORAGE_KEY) void this.reload();
      });
    }
  }

  /** Checks the stored token once: signed in as its user, or signed out. */
  async start(): Promise<void> {
    await this.reload();
    this.ready = true;
  }

  /** Fetches the current user again (after a change elsewhere). */
  async reload(): Promise<void> {
    if (!api.token()) {
      this.user = null;
      return;
    }
    try {
      const { user } = await call(client.GET("/api/user"));
      this.adopt(user);
      this.startError = null;
    } catch (error) {
      // A 401 already cleared the token; anything else leaves the session as it was.
      if (error instanceof ApiError && error.status !== 401) this.startError = error.sentence;
    }
  }

  async signIn(email: string, password: string): Promise<User> {
    const { user } = await call(
      client.POST("/api/users/login", { body: { user: { email, password } } }),
    );
    this.adopt(user);
    return user;
  }

  async signUp(username: string, email: string, password: string): Promise<User> {
    const { user } = await call(
      client.POST("/api/users", { body: { user: { username, email, password } } }),
    );
    this.adopt(user);
    return user;
  }

  /**
   * Forgets the session here at once (no call made after this carries its token), then ends
   * it on the server, so the token stops working.
   */
  async signOut(): Promise<void> {
    this.user = null;
    try {
      await api.endSession();
    } catch {
      // Signed out here in any case; a session the server could not end expires on its own.
    }
  }

  /** Takes a user answer (login, registration, settings) as the current user and its tokens. */
  adopt(user: User): void {
    const previous = api.tokens.get();
    if (!previous || previous.token !== user.token) {
      api.tokens.set({
        token: user.token,
        refreshToken: user.refreshToken ?? previous?.refreshToken ?? null,
      });
    }
    this.user = user;
  }
}

export const session = new Session();
export type { Session };
