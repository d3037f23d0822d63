import { beforeEach, describe, expect, it } from "vitest";

import {
  ChatSocket,
  socketUrl,
  type ConnectionStatus,
  type SocketLike,
  type Timers,
} from "./client";
import type { ChatMessage, ServerEvent } from "./events";

/** A socket the test drives: it records what the client sends and plays the server. */
class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1000;
    this.readyState = 3;
  }

  // The server's side.
  accept(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }

  push(type: string, data: unknown): void {
    this.onmessage?.({ data: JSON.stringify({ type, data }) } as MessageEvent);
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

/** Timers the test advances by hand. */
class ManualTimers implements Timers {
  time = 1_000_000;
  private next = 1;
  private pending = new Map<number, { at: number; callback: () => void }>();

  set(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  now(): number {
    return this.time;
  }

  /** The delay of the soonest timer. */
  soonest(): number {
    const delay = this.delays()[0];
    if (delay === undefined) throw new Error("no timer is waiting");
    return delay;
  }

  /** Delays of the timers waiting now, soonest first. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = until;
  }
}

function message(chatId: number, seq: number): ChatMessage {
  return {
    id: chatId * 1000 + seq,
    chatId,
    seq,
    author: { username: "ann", image: null },
    body: `message ${seq}`,
    attachment: null,
    replyTo: null,
    createdAt: "2026-12-06T10:00:00.000Z",
    editedAt: null,
    deleted: false,
    expiresAt: null,
    commentsCount: 0,
  };
}

describe("ChatSocket", () => {
  let sockets: FakeSocket[];
  let timers: ManualTimers;
  let token: string | null;
  let probeAnswer: boolean;
  let probes: number;
  let chat: ChatSocket;
  let statuses: ConnectionStatus[];

  const last = (): FakeSocket => {
    const socket = sockets[sockets.length - 1];
    if (socket === undefined) throw new Error("no socket was opened");
    return socket;
  };
  const seqsOf = (events: ServerEvent[]): (number | null)[] =>
    events.filter((e) => e.type === "message.created").map((e) => (e.data as ChatMessage).seq);

  function connected(chats: { chatId: number; lastSeq: number }[]): FakeSocket {
    const socket = last();
    socket.accept();
    socket.push("hello", { general: [], chats: chats.map((c) => ({ ...c, unreadCount: 0 })) });
    return socket;
  }

  beforeEach(() => {
    sockets = [];
    timers = new ManualTimers();
    token = "jwt-1";
    probeAnswer = true;
    probes = 0;
    statuses = [];
    chat = new ChatSocket({
      url: () => (token === null ? null : socketUrl("http://localhost:8080", token)),
      open: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      probe: () => {
        probes += 1;
        return Promise.resolve(probeAnswer);
      },
      timers,
      random: () => 0.5,
      backoffBase: 1000,
      backoffMax: 8000,
    });
    chat.state.subscribe((status) => statuses.push(status));
  });

  it("connects to the chat socket with the token in the query", () => {
    chat.start();
    expect(sockets).toHaveLength(1);
    expect(last().url).toBe("ws://localhost:8080/api/chat/ws?token=jwt-1");
    expect(chat.connection.state).toBe("connecting");
    connected([{ chatId: 1, lastSeq: 4 }]);
    expect(chat.connection.state).toBe("open");
    expect(chat.lastSeq(1)).toBe(4);
    expect(socketUrl("https://chop.example", "a b")).toBe(
      "wss://chop.example/api/chat/ws?token=a+b",
    );
  });

  it("routes events to the subscribers of their type, of every event and of their chat", () => {
    const byType: unknown[] = [];
    const all: string[] = [];
    const ofChat2: string[] = [];
    const ofChat3: string[] = [];
    chat.on("typing", (data) => byType.push(data));
    chat.onAny((event) => all.push(event.type));
    chat.onChat(2, (event) => ofChat2.push(event.type));
    const stop3 = chat.onChat(3, (event) => ofChat3.push(event.type));
    chat.start();
    const socket = connected([
      { chatId: 2, lastSeq: 0 },
      { chatId: 3, lastSeq: 0 },
    ]);
    socket.push("typing", { chatId: 2, username: "bob" });
    socket.push("message.created", message(3, 1));
    stop3();
    socket.push("chat.read", { chatId: 3, seq: 1, unreadCount: 0 });
    socket.push("chat.join_requested", { id: 1, chatId: 2, user: { username: "cy", image: null } });

    expect(byType).toEqual([{ chatId: 2, username: "bob" }]);
    expect(all).toEqual(["hello", "typing", "message.created", "chat.read", "chat.join_requested"]);
    expect(ofChat2).toEqual(["typing", "chat.join_requested"]);
    expect(ofChat3).toEqual(["message.created"]);
  });

  it("drops a message it has delivered already", () => {
    const events: ServerEvent[] = [];
    chat.onChat(5, (event) => events.push(event));
    chat.start();
    const socket = connected([{ chatId: 5, lastSeq: 2 }]);
    socket.push("message.created", message(5, 2)); // the hello counted it
    socket.push("message.created", message(5, 3));
    socket.push("message.created", message(5, 3));
    socket.push("message.created", message(5, 4));
    expect(seqsOf(events)).toEqual([3, 4]);
    expect(chat.lastSeq(5)).toBe(4);
  });

  it("resumes every chat that moved on from the last seq it delivered, after a reconnection", () => {
    chat.start();
    let socket = connected([
      { chatId: 1, lastSeq: 3 },
      { chatId: 2, lastSeq: 7 },
    ]);
    socket.push("message.created", message(1, 4));
    socket.push("message.created", message(1, 5));
    socket.drop(1013); // too slow: reconnect and resume
    expect(chat.connection.state).toBe("reconnecting");

    timers.advance(1000);
    expect(sockets).toHaveLength(2);
    socket = connected([
      { chatId: 1, lastSeq: 9 },
      { chatId: 2, lastSeq: 7 },
    ]);
    // Chat 2 did not move: nothing to ask for.
    expect(socket.sent).toEqual([{ type: "resume", chatId: 1, afterSeq: 5 }]);
  });

  it("shows a resumed chat in order and once, whatever arrives live during the replay", () => {
    const events: ServerEvent[] = [];
    chat.onChat(1, (event) => events.push(event));
    chat.start();
    let socket = connected([{ chatId: 1, lastSeq: 5 }]);
    socket.drop();
    timers.advance(1000);
    socket = connected([{ chatId: 1, lastSeq: 8 }]);
    expect(socket.sent).toEqual([{ type: "resume", chatId: 1, afterSeq: 5 }]);

    socket.push("message.created", message(1, 9)); // live, before the replay reached the client
    socket.push("message.created", message(1, 6));
    socket.push("message.created", message(1, 7));
    socket.push("message.created", message(1, 7));
    socket.push("message.created", message(1, 8));
    expect(seqsOf(events)).toEqual([]);
    socket.push("resumed", { chatId: 1, lastSeq: 9 });
    socket.push("message.created", message(1, 9));
    socket.push("message.created", message(1, 10));

    expect(seqsOf(events)).toEqual([6, 7, 8, 9, 10]);
    expect(chat.lastSeq(1)).toBe(10);
  });

  it("asks again for what a replay cut short had not delivered", () => {
    const events: ServerEvent[] = [];
    chat.onChat(1, (event) => events.push(event));
    chat.start();
    let socket = connected([{ chatId: 1, lastSeq: 2 }]);
    socket.drop();
    timers.advance(1000);
    socket = connected([{ chatId: 1, lastSeq: 6 }]);
    socket.push("message.created", message(1, 3));
    socket.drop(); // before `resumed`: message 3 was never shown
    timers.advance(1000);
    socket = connected([{ chatId: 1, lastSeq: 6 }]);
    expect(socket.sent).toEqual([{ type: "resume", chatId: 1, afterSeq: 2 }]);
    for (const seq of [3, 4, 5, 6]) socket.push("message.created", message(1, seq));
    socket.push("resumed", { chatId: 1, lastSeq: 6 });
    expect(seqsOf(events)).toEqual([3, 4, 5, 6]);
  });

  it("follows a chat joined while connected from its first replayed message", () => {
    const events: ServerEvent[] = [];
    chat.onChat(9, (event) => events.push(event));
    chat.start();
    const socket = connected([]);
    socket.push("chat.member_joined", { chatId: 9, user: { username: "me", image: null } });
    socket.push("message.created", message(9, 1));
    socket.push("message.created", message(9, 1));
    socket.push("message.created", message(9, 2));
    expect(events.map((e) => e.type)).toEqual([
      "chat.member_joined",
      "message.created",
      "message.created",
    ]);
    expect(chat.lastSeq(9)).toBe(2);
  });

  it("backs off exponentially with jitter, up to a ceiling, and starts over once connected", () => {
    chat.start();
    last().drop();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      delays.push(timers.soonest());
      expect(chat.connection).toMatchObject({ state: "reconnecting", attempt });
      timers.advance(timers.soonest());
      last().drop(1006);
    }
    // random() = 0.5: three quarters of 1 s, 2 s, 4 s, then of the 8 s ceiling.
    expect(delays).toEqual([750, 1500, 3000, 6000, 6000]);

    timers.advance(timers.soonest());
    connected([]);
    expect(chat.connection).toMatchObject({ state: "open", attempt: 0, retryAt: null });
    last().drop(1008);
    expect(timers.soonest()).toBe(750);
  });

  it("spreads the delay between half and all of the ceiling", () => {
    const low = new ChatSocket({ url: () => null, random: () => 0, backoffBase: 1000 });
    const high = new ChatSocket({ url: () => null, random: () => 0.999999, backoffBase: 1000 });
    expect(low.backoff(3)).toBe(2000);
    expect(high.backoff(3)).toBe(4000);
  });

  it("stops retrying once the probe says the session is gone", async () => {
    chat.start();
    last().drop(); // refused handshake 1
    timers.advance(timers.soonest());
    expect(probes).toBe(0);
    probeAnswer = false;
    last().drop(); // refused handshake 2: ask
    await Promise.resolve();
    expect(probes).toBe(1);
    expect(chat.connection.state).toBe("unauthorized");
    expect(timers.delays()).toEqual([]);
    const count = sockets.length;
    timers.advance(60_000);
    expect(sockets).toHaveLength(count);
  });

  it("goes on retrying while the session stands", async () => {
    chat.start();
    last().drop();
    timers.advance(timers.soonest());
    last().drop();
    await Promise.resolve();
    expect(probes).toBe(1);
    expect(chat.connection.state).toBe("reconnecting");
    timers.advance(timers.soonest());
    expect(sockets).toHaveLength(3);
  });

  it("treats a close code of a refused identity as the end of the session", () => {
    chat.start();
    connected([]);
    last().drop(4401);
    expect(chat.connection.state).toBe("unauthorized");
    expect(timers.delays()).toEqual([]);
  });

  it("pings a silent connection and replaces it when no answer comes", () => {
    chat.start();
    const socket = connected([]);
    timers.advance(25_000);
    expect(socket.sent).toEqual([{ type: "ping" }]);
    socket.push("pong", {});
    timers.advance(24_000);
    expect(sockets).toHaveLength(1);
    timers.advance(1_000);
    expect(socket.sent).toEqual([{ type: "ping" }, { type: "ping" }]);
    timers.advance(10_000);
    expect(socket.closedWith).toBe(1000);
    expect(chat.connection.state).toBe("reconnecting");
    timers.advance(timers.soonest());
    expect(sockets).toHaveLength(2);
  });

  it("sends typing at most once per interval and chat", () => {
    chat.start();
    const socket = connected([{ chatId: 1, lastSeq: 0 }]);
    chat.typing(1);
    chat.typing(1);
    chat.typing(2);
    timers.advance(3000);
    chat.typing(1);
    expect(socket.sent).toEqual([
      { type: "typing", chatId: 1 },
      { type: "typing", chatId: 2 },
      { type: "typing", chatId: 1 },
    ]);
  });

  it("stops for good on stop(), and does not connect without a token", () => {
    chat.start();
    connected([{ chatId: 1, lastSeq: 3 }]);
    chat.stop();
    expect(sockets[0]?.closedWith).toBe(1000);
    expect(chat.connection.state).toBe("idle");
    expect(chat.lastSeq(1)).toBeNull();
    timers.advance(120_000);
    expect(sockets).toHaveLength(1);

    token = null;
    chat.start();
    expect(sockets).toHaveLength(1);
    expect(chat.connection.state).toBe("idle");
    expect(statuses.map((s) => s.state)).toEqual([
      "idle",
      "connecting",
      "open",
      "idle",
      "connecting",
      "idle",
    ]);
  });
});
