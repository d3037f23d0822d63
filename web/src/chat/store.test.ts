import { beforeEach, describe, expect, it, vi } from "vitest";

import type { ServerEvent } from "$lib/ws";

// The list of chats as the API answers it, and the calls the store makes: a stand-in for the
// API module, and for the socket, whose events the test plays.
const state = vi.hoisted(() => ({
  chats: [] as unknown[],
  reads: [] as { chatId: string; seq: number }[],
  handler: null as ((event: unknown) => void) | null,
}));

vi.mock("$lib/api", () => ({
  call: (pending: Promise<unknown>) => pending,
  errorSentence: () => "failed",
  client: {
    GET: (path: string) => {
      if (path === "/api/chats") return Promise.resolve({ chats: state.chats, chatsCount: 0 });
      return Promise.resolve({
        status: {
          bans: [],
          sendBudget: { limit: 20, remaining: 5, periodSeconds: 3600, resetsAt: "" },
          devices: 1,
          chats: [],
        },
      });
    },
    POST: (
      _path: string,
      options: { params: { path: { chat_id: string } }; body: { seq: number } },
    ) => {
      const chatId = options.params.path.chat_id;
      state.reads.push({ chatId, seq: options.body.seq });
      return Promise.resolve({
        read: { chatId: Number(chatId), seq: options.body.seq, unreadCount: 0 },
      });
    },
  },
}));

vi.mock("$lib/session", () => ({ session: { user: { username: "me" } } }));

vi.mock("$lib/ws", () => ({
  connectChat: () => undefined,
  chatSocket: {
    onAny: (handler: (event: unknown) => void) => {
      state.handler = handler;
      return () => undefined;
    },
  },
}));

const { chats } = await import("./store.svelte");

function chat(id: number, type: string, unreadCount: number, at: string) {
  return {
    id,
    type,
    title: `chat ${id}`,
    description: "",
    private: false,
    owner: null,
    messageTtlSeconds: null,
    createdAt: at,
    lastSeq: 3,
    lastMessage: null,
    unreadCount,
  };
}

function message(chatId: number, seq: number, author: string, at: string) {
  return {
    id: chatId * 100 + seq,
    chatId,
    seq,
    author: { username: author, image: null },
    body: `m${seq}`,
    attachment: null,
    replyTo: null,
    createdAt: at,
    editedAt: null,
    deleted: false,
    expiresAt: null,
    commentsCount: 0,
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const play = (type: string, data: unknown) => state.handler?.({ type, data } as ServerEvent);
const unread = () => Object.fromEntries(chats.chats.map((c) => [c.id, c.unreadCount]));

describe("the list of my chats", () => {
  beforeEach(async () => {
    state.chats = [
      chat(1, "general", 0, "2026-12-01T10:00:00.000Z"),
      chat(2, "direct", 2, "2026-12-02T10:00:00.000Z"),
    ];
    state.reads = [];
    chats.openChatId = null;
    chats.start();
    await chats.reload();
  });

  it("puts the chat that moved last first and counts what others write", () => {
    play("message.created", message(1, 4, "ann", "2026-12-06T10:00:00.000Z"));
    expect(chats.chats.map((c) => c.id)).toEqual([1, 2]);
    expect(unread()).toEqual({ 1: 1, 2: 2 });
    expect(chats.totalUnread).toBe(3);
    play("message.created", message(1, 5, "me", "2026-12-06T10:01:00.000Z"));
    expect(unread()).toEqual({ 1: 1, 2: 2 });
    expect(chats.byId(1)?.lastMessage?.body).toBe("m5");
  });

  it("follows my read markers set in another tab", () => {
    play("chat.read", { chatId: 2, seq: 3, unreadCount: 0 });
    expect(unread()).toEqual({ 1: 0, 2: 0 });
  });

  it("does not count a message of the chat I am looking at, and marks it read", async () => {
    chats.openChatId = 2;
    play("message.created", message(2, 4, "ann", "2026-12-06T10:00:00.000Z"));
    expect(unread()[2]).toBe(2);
    await chats.markRead(2, 4);
    expect(state.reads).toEqual([{ chatId: "2", seq: 4 }]);
    expect(unread()[2]).toBe(0);
    await chats.markRead(2, 4);
    expect(state.reads).toHaveLength(1);
  });

  it("drops a chat I left or that was deleted, and reads the list again on a new chat", async () => {
    play("chat.member_left", { chatId: 2, user: { username: "me", image: null } });
    expect(chats.chats.map((c) => c.id)).toEqual([1]);
    state.chats = [
      chat(1, "general", 0, "2026-12-01T10:00:00.000Z"),
      chat(7, "group", 0, "2026-12-06T09:00:00.000Z"),
    ];
    play("chat.member_joined", { chatId: 7, user: { username: "me", image: null } });
    await flush();
    expect(chats.chats.map((c) => c.id)).toEqual([7, 1]);
    play("chat.deleted", { chatId: 7 });
    expect(chats.chats.map((c) => c.id)).toEqual([1]);
  });

  it("takes one from the general chat's budget for a message sent there", async () => {
    await chats.loadStatus();
    chats.spent(2);
    expect(chats.budget?.remaining).toBe(5);
    chats.spent(1);
    expect(chats.budget?.remaining).toBe(4);
  });
});
