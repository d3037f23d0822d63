// My chats for every screen: the list with unread counts and last messages, kept live from the
// websocket (a read marker set in another tab clears the badge here too), and the send budget.
import { call, client, errorSentence, type Schemas } from "$lib/api";
import { session } from "$lib/session";
import { chatSocket, connectChat, type ChatMessage, type ServerEvent } from "$lib/ws";
import { activeBan, type Ban, type Budget } from "./format";

export type Chat = Schemas["chat_ChatOut"];
export type ChatDetail = Schemas["chat_ChatDetailOut"];
export type Member = Schemas["chat_MemberOut"];
export type Message = ChatMessage;

/** When a chat last moved: its last message, or its creation. */
function activity(chat: Chat): number {
  return Date.parse(chat.lastMessage?.createdAt ?? chat.createdAt);
}

class ChatStore {
  chats = $state<Chat[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  /** The chat shown in a window now: its new messages are read at once. */
  openChatId = $state<number | null>(null);
  budget = $state<Budget | null>(null);
  bans = $state<Ban[]>([]);

  totalUnread = $derived(this.chats.reduce((sum, chat) => sum + chat.unreadCount, 0));
  ban = $derived(activeBan(this.bans));

  private started = false;
  private reloading: Promise<void> | null = null;
  /** The read marker this tab last set per chat, so a repeat is not sent again. */
  private readonly marked = new Map<number, number>();

  /** Follows the socket from the first chat screen on (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    connectChat();
    chatSocket.onAny((event) => this.apply(event));
    void this.reload();
    void this.loadStatus();
  }

  get me(): string | null {
    return session.user?.username ?? null;
  }

  byId(id: number): Chat | undefined {
    return this.chats.find((chat) => chat.id === id);
  }

  /** Reads the list again (at start and after every reconnection); one read at a time. */
  reload(): Promise<void> {
    this.reloading ??= this.read().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async read(): Promise<void> {
    this.loading = true;
    try {
      const answer = await call(client.GET("/api/chats", { params: { query: { limit: 100 } } }));
      this.chats = this.sorted(answer.chats);
      this.error = null;
    } catch (error) {
      this.error = errorSentence(error);
    } finally {
      this.loading = false;
      this.loaded = true;
    }
  }

  async loadStatus(): Promise<void> {
    try {
      const { status } = await call(client.GET("/api/chat/status"));
      this.budget = status.sendBudget;
      this.bans = status.bans;
    } catch {
      // The composer still works; the budget shows once the status can be read.
    }
  }

  /** Puts a chat (new, or changed by a screen) into the list. */
  upsert(chat: Chat): void {
    const others = this.chats.filter((c) => c.id !== chat.id);
    this.chats = this.sorted([...others, chat]);
  }

  remove(chatId: number): void {
    this.chats = this.chats.filter((chat) => chat.id !== chatId);
  }

  /** My read marker; every device of mine learns it through `chat.read`. */
  async markRead(chatId: number, seq: number): Promise<void> {
    if ((this.marked.get(chatId) ?? 0) >= seq && this.byId(chatId)?.unreadCount === 0) return;
    this.marked.set(chatId, seq);
    try {
      const { read } = await call(
        client.POST("/api/chats/{chat_id}/read", {
          params: { path: { chat_id: String(chatId) } },
          body: { seq },
        }),
      );
      this.setUnread(chatId, read.unreadCount);
    } catch {
      // The marker moves with the next message read.
    }
  }

  /** A message of mine went out: one fewer in the general chat's budget. */
  spent(chatId: number): void {
    const chat = this.byId(chatId);
    if (chat?.type === "general" && this.budget !== null) {
      this.budget = { ...this.budget, remaining: Math.max(0, this.budget.remaining - 1) };
    }
  }

  private setUnread(chatId: number, unreadCount: number): void {
    this.chats = this.chats.map((chat) => (chat.id === chatId ? { ...chat, unreadCount } : chat));
  }

  private sorted(chats: Chat[]): Chat[] {
    return [...chats].sort((a, b) => activity(b) - activity(a) || b.id - a.id);
  }

  private apply(event: ServerEvent): void {
    switch (event.type) {
      case "hello":
        void this.reload();
        void this.loadStatus();
        return;
      case "message.created":
        this.received(event.data);
        return;
      case "message.updated":
        this.replaceLast(event.data.chatId, event.data.id, event.data);
        return;
      case "message.deleted": {
        const chat = this.byId(event.data.chatId);
        if (chat?.lastMessage?.id === event.data.id) {
          this.replaceLast(chat.id, event.data.id, {
            ...chat.lastMessage,
            body: null,
            attachment: null,
            deleted: true,
          });
        }
        return;
      }
      case "chat.read":
        this.setUnread(event.data.chatId, event.data.unreadCount);
        return;
      case "chat.member_joined":
        if (event.data.user?.username === this.me || this.byId(event.data.chatId) === undefined) {
          void this.reload();
        }
        return;
      case "chat.member_left":
        if (event.data.user?.username === this.me) this.remove(event.data.chatId);
        return;
      case "chat.deleted":
        this.remove(event.data.chatId);
        return;
      case "chat.updated":
        if (this.byId(event.data.chatId) !== undefined) void this.reload();
        return;
      case "chat.join_decided":
        if (event.data.status === "approved") void this.reload();
        return;
      case "moderation.banned":
        void this.loadStatus();
        return;
      default:
        return;
    }
  }

  private received(message: Message): void {
    const chat = this.byId(message.chatId);
    if (chat === undefined) {
      void this.reload();
      return;
    }
    const mine = message.author?.username === this.me;
    const watching =
      this.openChatId === chat.id &&
      typeof document !== "undefined" &&
      document.visibilityState === "visible";
    const updated: Chat = {
      ...chat,
      lastMessage: message,
      lastSeq: Math.max(chat.lastSeq, message.seq ?? 0),
      unreadCount: mine || watching ? chat.unreadCount : chat.unreadCount + 1,
    };
    this.upsert(updated);
  }

  private replaceLast(chatId: number, messageId: number, message: Message): void {
    this.chats = this.chats.map((chat) =>
      chat.id === chatId && chat.lastMessage?.id === messageId
        ? { ...chat, lastMessage: message }
        : chat,
    );
  }
}

export const chats = new ChatStore();
