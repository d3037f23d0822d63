// The chat websocket of one browser tab: connects with the session's token, keeps per chat the
// messages it has delivered, and after every reconnection asks the server for what it missed
// (`resume` with `afterSeq`), so that screens see every message once and in order.
//
// Screens subscribe to events (all of them, one type, or one chat's) and to the connection's
// state, which the app shows as a banner while the socket is away. The socket retries with
// exponential back-off and jitter; a handshake that keeps failing asks `probe` whether the
// session still stands, because a browser is not told why a websocket handshake was refused.

import {
  chatOf,
  type ChatMessage,
  type EventType,
  type ServerEvent,
  type ServerEvents,
} from "./events";

export type ConnectionState =
  | "idle" // not started, or stopped
  | "connecting" // the first connection of this start
  | "open" // hello received: live
  | "reconnecting" // lost; a retry is scheduled or under way
  | "unauthorized"; // the session is gone: no more retries until started again

export interface ConnectionStatus {
  state: ConnectionState;
  /** Retries since the last good connection (0 while open). */
  attempt: number;
  /** When the next retry starts (epoch ms), while one is scheduled. */
  retryAt: number | null;
}

/** The part of the browser's WebSocket this module uses, so tests can pass their own. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

export interface ChatSocketOptions {
  /** The socket's URL with the current token, or null when nobody is signed in. */
  url: () => string | null;
  /** Opens a socket; the browser's WebSocket by default. */
  open?: SocketFactory;
  /** Whether the session still stands (false after a 401), asked when handshakes keep failing. */
  probe?: () => Promise<boolean>;
  timers?: Timers;
  /** A number in [0, 1): the jitter's source. */
  random?: () => number;
  /** First retry delay and the longest one, in ms. */
  backoffBase?: number;
  backoffMax?: number;
  /** A ping after this much silence, and a reconnection when the answer does not come. */
  pingInterval?: number;
  pongTimeout?: number;
  /** Typing events sent per chat at most once in this many ms (the server throttles too). */
  typingInterval?: number;
}

type Handler<K extends EventType> = (data: ServerEvents[K], event: ServerEvent) => void;
type AnyHandler = (event: ServerEvent) => void;
type StatusHandler = (status: ConnectionStatus) => void;

const OPEN = 1;
const CLOSE_NORMAL = 1000;

const browserTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/** What the tab has delivered of one chat's messages. */
class SeqTracker {
  /** Every seq up to here was delivered (or came before this tab knew the chat). */
  floor: number;
  /** Delivered seqs above the floor (after a gap). */
  private above = new Set<number>();

  constructor(floor: number) {
    this.floor = floor;
  }

  has(seq: number): boolean {
    return seq <= this.floor || this.above.has(seq);
  }

  add(seq: number): void {
    if (this.has(seq)) return;
    this.above.add(seq);
    while (this.above.delete(this.floor + 1)) this.floor += 1;
  }
}

export class ChatSocket {
  private readonly options: Required<Omit<ChatSocketOptions, "probe">> &
    Pick<ChatSocketOptions, "probe">;
  private socket: SocketLike | null = null;
  private running = false;
  private status: ConnectionStatus = { state: "idle", attempt: 0, retryAt: null };
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private pongTimer: unknown = null;
  /** Failed handshakes in a row (the socket closed before it opened). */
  private refused = 0;

  private readonly seqs = new Map<number, SeqTracker>();
  /** Chats being resumed: their live messages wait here until `resumed`, then go in order. */
  private readonly resuming = new Map<number, ChatMessage[]>();
  private readonly lastTyping = new Map<number, number>();

  private readonly handlers = new Map<string, Set<AnyHandler>>();
  private readonly chatHandlers = new Map<number, Set<AnyHandler>>();
  private readonly statusHandlers = new Set<StatusHandler>();

  constructor(options: ChatSocketOptions) {
    this.options = {
      open: (url) => new WebSocket(url),
      timers: browserTimers,
      random: Math.random,
      backoffBase: 500,
      backoffMax: 30_000,
      pingInterval: 25_000,
      pongTimeout: 10_000,
      typingInterval: 3_000,
      ...options,
    };
  }

  // Lifecycle.

  /** Connects (once signed in); idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.refused = 0;
    this.setStatus({ state: "connecting", attempt: 0, retryAt: null });
    this.connect();
  }

  /** Closes the socket and forgets the session's chats (sign-out). */
  stop(): void {
    this.running = false;
    this.teardown();
    this.seqs.clear();
    this.resuming.clear();
    this.setStatus({ state: "idle", attempt: 0, retryAt: null });
  }

  /** Retries at once when a retry is waiting (the browser went online, the user asked). */
  retryNow(): void {
    if (!this.running || this.socket !== null) return;
    this.clearTimer("retryTimer");
    this.connect();
  }

  get connection(): ConnectionStatus {
    return this.status;
  }

  /** The last seq of a chat this tab has delivered without a gap, if it knows the chat. */
  lastSeq(chatId: number): number | null {
    return this.seqs.get(chatId)?.floor ?? null;
  }

  // Subscriptions: each returns its unsubscribe function.

  /** A Svelte-compatible store of the connection's status. */
  readonly state = {
    subscribe: (handler: StatusHandler): (() => void) => {
      this.statusHandlers.add(handler);
      handler(this.status);
      return () => this.statusHandlers.delete(handler);
    },
  };

  on<K extends EventType>(type: K, handler: Handler<K>): () => void {
    const wrapped: AnyHandler = (event) => handler(event.data as ServerEvents[K], event);
    return this.addTo(this.handlers, type, wrapped);
  }

  onAny(handler: AnyHandler): () => void {
    return this.addTo(this.handlers, "*", handler);
  }

  /** The events about one chat (messages, comments, read markers, typing, members...). */
  onChat(chatId: number, handler: AnyHandler): () => void {
    return this.addTo(this.chatHandlers, chatId, handler);
  }

  // Client to server.

  /** Says that I am typing in a chat; at most once per `typingInterval`. */
  typing(chatId: number): void {
    const now = this.options.timers.now();
    const last = this.lastTyping.get(chatId);
    if (last !== undefined && now - last < this.options.typingInterval) return;
    if (this.send({ type: "typing", chatId })) this.lastTyping.set(chatId, now);
  }

  // The connection.

  private connect(): void {
    const url = this.options.url();
    if (url === null) {
      this.running = false;
      this.setStatus({ state: "idle", attempt: 0, retryAt: null });
      return;
    }
    let opened = false;
    const socket = this.options.open(url);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.refused = 0;
      this.armPing();
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.armPing();
      this.receive(String(event.data));
    };
    socket.onerror = () => {
      // A close event follows; it decides what to do.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.lost(opened, event.code);
    };
  }

  private lost(opened: boolean, code: number): void {
    this.teardown();
    if (!this.running) return;
    if (code >= 4400 && code < 4404) {
      // An application close code for a refused identity.
      this.unauthorized();
      return;
    }
    if (!opened) this.refused += 1;
    if (this.refused >= 2 && this.options.probe) {
      // The handshake keeps failing: maybe the session ended (the gateway answers 401, which
      // a browser does not show); maybe the server is away. Ask once per failure.
      const probe = this.options.probe;
      this.schedule();
      probe().then(
        (valid) => {
          if (!valid && this.running) this.unauthorized();
        },
        () => undefined, // unreachable: keep retrying
      );
      return;
    }
    this.schedule();
  }

  private unauthorized(): void {
    this.running = false;
    this.teardown();
    this.setStatus({ state: "unauthorized", attempt: this.status.attempt, retryAt: null });
  }

  /** The delay before retry number `attempt` (1, 2, ...): doubling, capped, half of it random. */
  backoff(attempt: number): number {
    const { backoffBase, backoffMax, random } = this.options;
    const ceiling = Math.min(backoffMax, backoffBase * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  private schedule(): void {
    const attempt = this.status.attempt + 1;
    const delay = this.backoff(attempt);
    const retryAt = this.options.timers.now() + delay;
    this.setStatus({ state: "reconnecting", attempt, retryAt });
    this.retryTimer = this.options.timers.set(() => {
      this.retryTimer = null;
      if (this.running) this.connect();
    }, delay);
  }

  private teardown(): void {
    this.clearTimer("retryTimer");
    this.clearTimer("pingTimer");
    this.clearTimer("pongTimer");
    const socket = this.socket;
    this.socket = null;
    this.resuming.clear(); // what waited is not marked delivered: the next resume asks again
    if (socket !== null) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(CLOSE_NORMAL);
      } catch {
        // already closed
      }
    }
  }

  private clearTimer(name: "retryTimer" | "pingTimer" | "pongTimer"): void {
    if (this[name] !== null) {
      this.options.timers.clear(this[name]);
      this[name] = null;
    }
  }

  /** Any frame shows the connection is alive; a silent one gets a ping, then is given up. */
  private armPing(): void {
    this.clearTimer("pingTimer");
    this.clearTimer("pongTimer");
    this.pingTimer = this.options.timers.set(() => {
      this.pingTimer = null;
      this.send({ type: "ping" });
      this.pongTimer = this.options.timers.set(() => {
        this.pongTimer = null;
        this.lost(true, 1006);
      }, this.options.pongTimeout);
    }, this.options.pingInterval);
  }

  private send(frame: Record<string, unknown>): boolean {
    const socket = this.socket;
    if (socket === null || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    for (const handler of [...this.statusHandlers]) handler(status);
  }

  // What the server sends.

  private receive(text: string): void {
    let event: ServerEvent;
    try {
      event = JSON.parse(text) as ServerEvent;
    } catch {
      return;
    }
    if (typeof event !== "object" || event === null || typeof event.type !== "string") return;
    switch (event.type) {
      case "hello":
        this.hello(event.data);
        this.emit(event);
        return;
      case "message.created":
        this.message(event.data);
        return;
      case "resumed":
        this.resumed(event.data.chatId);
        this.emit(event);
        return;
      case "chat.deleted":
        this.seqs.delete(event.data.chatId);
        this.emit(event);
        return;
      default:
        this.emit(event);
    }
  }

  private hello(data: ServerEvents["hello"]): void {
    this.setStatus({ state: "open", attempt: 0, retryAt: null });
    for (const { chatId, lastSeq } of data.chats) {
      const known = this.seqs.get(chatId);
      if (known === undefined) {
        // A chat this tab has not followed: its screens read its history over REST.
        this.seqs.set(chatId, new SeqTracker(lastSeq));
      } else if (known.floor < lastSeq) {
        this.resuming.set(chatId, []);
        this.send({ type: "resume", chatId, afterSeq: known.floor });
      }
    }
  }

  private message(message: ChatMessage): void {
    const waiting = this.resuming.get(message.chatId);
    if (waiting !== undefined) {
      waiting.push(message);
      return;
    }
    this.deliver(message);
  }

  private resumed(chatId: number): void {
    const waiting = this.resuming.get(chatId);
    if (waiting === undefined) return;
    this.resuming.delete(chatId);
    waiting.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    for (const message of waiting) this.deliver(message);
  }

  private deliver(message: ChatMessage): void {
    const seq = message.seq;
    if (seq !== null) {
      let tracker = this.seqs.get(message.chatId);
      if (tracker === undefined) {
        // A chat joined while connected: its replay starts here.
        tracker = new SeqTracker(seq - 1);
        this.seqs.set(message.chatId, tracker);
      }
      if (tracker.has(seq)) return; // shown already
      tracker.add(seq);
    }
    this.emit({ type: "message.created", data: message });
  }

  private emit(event: ServerEvent): void {
    const lists = [this.handlers.get(event.type), this.handlers.get("*")];
    const chatId = chatOf(event);
    if (chatId !== null) lists.push(this.chatHandlers.get(chatId));
    for (const list of lists) {
      if (list === undefined) continue;
      for (const handler of [...list]) {
        try {
          handler(event);
        } catch (error) {
          // One screen's failure must not stop the others' events.
          console.error("chat event handler failed", error);
        }
      }
    }
  }

  private addTo<K>(map: Map<K, Set<AnyHandler>>, key: K, handler: AnyHandler): () => void {
    let set = map.get(key);
    if (set === undefined) {
      set = new Set();
      map.set(key, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) map.delete(key);
    };
  }
}

/** The socket's URL for a page served from `origin` (http -> ws, https -> wss). */
export function socketUrl(origin: string, token: string): string {
  const base = new URL("/api/chat/ws", origin);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  base.searchParams.set("token", token);
  return base.toString();
}
