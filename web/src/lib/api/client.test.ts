import { describe, expect, it } from "vitest";
import { createApi, type FetchLike } from "./client";
import { ApiError, parseApiError } from "./errors";
import type { TokenStorage } from "./tokens";

/** A Storage of our own: what the API module keeps between calls. */
function memoryStorage(
  initial: Record<string, string> = {},
): TokenStorage & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    removeItem: (key) => void data.delete(key),
  };
}

interface Seen {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
}

/** A fetch stand-in: records each request and answers with `reply`. */
function standIn(reply: (request: Seen, index: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (request) => {
    const entry = {
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get("Authorization"),
      body: request.body ? await request.text() : "",
    };
    seen.push(entry);
    return reply(entry, seen.length - 1);
  };
  return { fetch, seen };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

const BASE = "http://chop.test";
const signedIn = () =>
  memoryStorage({ "chopchop.session": JSON.stringify({ token: "t1", refreshToken: "r1" }) });

describe("the token", () => {
  it("is sent on reads as well as writes", async () => {
    const { fetch, seen } = standIn(() => json(200, { tags: ["soup"] }));
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    await api.call(api.client.GET("/api/tags"));
    await api
      .call(api.client.GET("/api/articles/{slug}", { params: { path: { slug: "pie" } } }))
      .catch(() => undefined);
    expect(seen.map((s) => s.authorization)).toEqual(["Token t1", "Token t1"]);
  });

  it("is not sent when signed out", async () => {
    const { fetch, seen } = standIn(() => json(200, { tags: [] }));
    const api = createApi({ fetch, storage: memoryStorage(), baseUrl: BASE });
    await api.call(api.client.GET("/api/tags"));
    expect(seen[0]?.authorization).toBeNull();
  });

  it("is kept in the storage it was given, and forgotten on sign-out", () => {
    const storage = memoryStorage();
    const api = createApi({ fetch: standIn(() => json(200, {})).fetch, storage, baseUrl: BASE });
    api.tokens.set({ token: "abc", refreshToken: null });
    expect(JSON.parse(storage.data.get("chopchop.session") ?? "{}")).toEqual({
      token: "abc",
      refreshToken: null,
    });
    expect(api.token()).toBe("abc");
    api.tokens.set(null);
    expect(storage.data.has("chopchop.session")).toBe(false);
    expect(api.token()).toBeNull();
  });

  it("lives in memory when storage refuses it", () => {
    const broken: TokenStorage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
      removeItem: () => undefined,
    };
    const api = createApi({
      fetch: standIn(() => json(200, {})).fetch,
      storage: broken,
      baseUrl: BASE,
    });
    api.tokens.set({ token: "m", refreshToken: null });
    expect(api.token()).toBe("m");
  });
});

describe("errors", () => {
  it("become an ApiError with the sentence and the per-field messages", async () => {
    const { fetch } = standIn(() =>
      json(422, {
        errors: {
          body: [
            "title length must be between 1 and 200",
            "ingredients.0.name length must be between 1 and 100",
          ],
          title: ["length must be between 1 and 200"],
          "ingredients.0.name": ["length must be between 1 and 100"],
        },
      }),
    );
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    const error = await api
      .call(
        api.client.POST("/api/articles", {
          body: { article: { title: "", description: "", body: "x" } },
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const e = error as ApiError;
    expect(e.status).toBe(422);
    expect(e.sentence).toBe(
      "Title length must be between 1 and 200. Ingredients.0.name length must be between 1 and 100.",
    );
    expect(e.fields["title"]).toEqual(["length must be between 1 and 200"]);
    expect(e.fieldText("title", "Title")).toBe("Title length must be between 1 and 200");
    expect(e.messagesFor("ingredients")).toEqual(["length must be between 1 and 100"]);
    expect(e.fieldText("description", "Description")).toBeNull();
  });

  it("without the API's body still read as a sentence", () => {
    expect(parseApiError(502, "<html>Bad gateway</html>").sentence).toBe(
      "The server had a problem. Please try again.",
    );
    expect(parseApiError(404, null).sentence).toBe("Not found.");
    expect(parseApiError(422, { errors: { body: "not a list" } }).sentence).toBe(
      "Some of the values are not valid.",
    );
  });

  it("say when to try again after a 429", () => {
    const e = parseApiError(429, { errors: { body: ["too many failed logins"] } }, "120");
    expect(e.retryAfter).toBe(120);
    expect(e.sentence).toBe("Too many failed logins. Try again in 120 s.");
  });

  it("of the network are status 0 with a sentence", async () => {
    const api = createApi({
      fetch: () => Promise.reject(new TypeError("Failed to fetch")),
      storage: memoryStorage(),
      baseUrl: BASE,
    });
    const error = (await api
      .call(api.client.GET("/api/tags"))
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
    expect(error.sentence).toMatch(/Cannot reach the server/);
  });

  it("of a call that takes too long are status 0 and say so", async () => {
    const hang: FetchLike = (request) =>
      new Promise((_, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason)),
      );
    const api = createApi({ fetch: hang, storage: memoryStorage(), baseUrl: BASE, timeoutMs: 20 });
    const error = (await api
      .call(api.client.GET("/api/tags"))
      .catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.sentence).toMatch(/took too long/);
  });
});

describe("a 401", () => {
  it("refreshes the token once and repeats the call with the new one, body included", async () => {
    const { fetch, seen } = standIn((request) => {
      if (request.path === "/api/auth/refresh") {
        return json(200, { user: { token: "t2", refreshToken: "r2" } });
      }
      if (request.authorization === "Token t1")
        return json(401, { errors: { body: ["token expired"] } });
      return json(200, { comment: { id: 1, body: JSON.parse(request.body).comment.body } });
    });
    const storage = signedIn();
    const api = createApi({ fetch, storage, baseUrl: BASE });
    const answer = await api.call(
      api.client.POST("/api/articles/{slug}/comments", {
        params: { path: { slug: "pie" } },
        body: { comment: { body: "Lovely" } },
      }),
    );
    expect(answer.comment.body).toBe("Lovely");
    expect(seen.map((s) => `${s.method} ${s.path} ${s.authorization ?? "-"}`)).toEqual([
      "POST /api/articles/pie/comments Token t1",
      "POST /api/auth/refresh -",
      "POST /api/articles/pie/comments Token t2",
    ]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ refreshToken: "r1" });
    expect(api.tokens.get()).toEqual({ token: "t2", refreshToken: "r2" });
  });

  it("of calls made together leads to one refresh", async () => {
    const { fetch, seen } = standIn(async (request) => {
      if (request.path === "/api/auth/refresh") {
        await new Promise((r) => setTimeout(r, 5));
        return json(200, { user: { token: "t2", refreshToken: "r2" } });
      }
      return request.authorization === "Token t2" ? json(200, { tags: [] }) : json(401, {});
    });
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    await Promise.all([
      api.call(api.client.GET("/api/tags")),
      api.call(api.client.GET("/api/tags")),
      api.call(api.client.GET("/api/tags")),
    ]);
    expect(seen.filter((s) => s.path === "/api/auth/refresh")).toHaveLength(1);
  });

  it("signs out when the session cannot be refreshed, and the call fails with 401", async () => {
    const { fetch } = standIn((request) =>
      request.path === "/api/auth/refresh"
        ? json(401, { errors: { body: ["refresh token is invalid"] } })
        : json(401, { errors: { body: ["the session has ended"] } }),
    );
    const storage = signedIn();
    const api = createApi({ fetch, storage, baseUrl: BASE });
    const signedOut: unknown[] = [];
    api.tokens.subscribe((t) => signedOut.push(t));
    const error = (await api
      .call(api.client.GET("/api/user"))
      .catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(401);
    expect(error.sentence).toBe("The session has ended.");
    expect(api.token()).toBeNull();
    expect(storage.data.has("chopchop.session")).toBe(false);
    expect(signedOut).toEqual([null]);
  });

  it("without a refresh token signs out at once", async () => {
    const { fetch, seen } = standIn(() =>
      json(401, { errors: { body: ["authentication is required"] } }),
    );
    const storage = memoryStorage({
      "chopchop.session": JSON.stringify({ token: "t1", refreshToken: null }),
    });
    const api = createApi({ fetch, storage, baseUrl: BASE });
    await api.call(api.client.GET("/api/user")).catch(() => undefined);
    expect(seen.map((s) => s.path)).toEqual(["/api/user"]);
    expect(api.token()).toBeNull();
  });

  it("of a login is a wrong password, not the end of the session", async () => {
    const { fetch, seen } = standIn(() =>
      json(401, { errors: { body: ["email or password is invalid"] } }),
    );
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    await api
      .call(
        api.client.POST("/api/users/login", { body: { user: { email: "a@b.c", password: "x" } } }),
      )
      .catch(() => undefined);
    expect(seen.map((s) => s.path)).toEqual(["/api/users/login"]);
    expect(api.token()).toBe("t1");
  });
});

describe("signing out", () => {
  it("forgets the token before the server answers, and ends the session with it", async () => {
    let answer: (response: Response) => void = () => undefined;
    const { fetch, seen } = standIn((request) =>
      request.path === "/api/auth/logout"
        ? new Promise<Response>((resolve) => (answer = resolve))
        : json(200, { tags: [] }),
    );
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    const ending = api.endSession();
    // A page that loads while the logout is on its way asks as a visitor.
    expect(api.token()).toBeNull();
    await api.call(api.client.GET("/api/tags"));
    answer(new Response(null, { status: 204 }));
    await ending;
    expect(seen.map((s) => [s.path, s.authorization])).toEqual([
      ["/api/auth/logout", "Token t1"],
      ["/api/tags", null],
    ]);
  });

  it("reports a logout the server refused, signed out here all the same", async () => {
    const { fetch } = standIn(() => json(503, { errors: { body: ["try again later"] } }));
    const api = createApi({ fetch, storage: signedIn(), baseUrl: BASE });
    await expect(api.endSession()).rejects.toBeInstanceOf(ApiError);
    expect(api.token()).toBeNull();
  });

  it("sends nothing when nobody is signed in", async () => {
    const { fetch, seen } = standIn(() => json(204, null));
    const api = createApi({ fetch, storage: memoryStorage(), baseUrl: BASE });
    await api.endSession();
    expect(seen).toEqual([]);
  });
});
