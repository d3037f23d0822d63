// The signed-in person's notifications: the unread count for the header's badge, and the
// newest ones for the notifications page. The chat socket brings new ones
// (`notification.created`) and the read marks of every device (`notification.read`), so the
// badge agrees on every tab and device; after a reconnection the count is read again, since
// the socket does not replay what it missed.
import { api, call, client } from "$lib/api";
import { chatSocket, connectChat, type Notification } from "$lib/ws";

export type { Notification };

const PAGE = 20;

class NotificationStore {
  unreadCount = $state(0);
  items = $state<Notification[]>([]);
  nextCursor = $state<number | null>(null);
  loaded = $state(false);

  private started = false;

  /** Follows the socket and the session (idempotent); the header calls it. */
  start(): void {
    if (this.started || typeof window === "undefined") return;
    this.started = true;
    connectChat();
    chatSocket.on("notification.created", (created) => {
      if (this.items.some((item) => item.id === created.id)) return;
      this.items = [created, ...this.items];
      if (!created.read) this.unreadCount += 1;
    });
    chatSocket.on("notification.read", (read) => {
      this.unreadCount = read.unreadCount;
      this.markLocally(read.upTo, read.ids);
    });
    chatSocket.state.subscribe((status) => {
      if (status.state === "open") void this.refreshCount();
    });
    api.tokens.subscribe((tokens) => {
      if (tokens === null) {
        this.unreadCount = 0;
        this.items = [];
        this.loaded = false;
      }
    });
  }

  async refreshCount(): Promise<void> {
    if (api.token() === null) return;
    try {
      const answer = await call(client.GET("/api/notifications/unread-count"));
      this.unreadCount = answer.unreadCount;
    } catch {
      // The badge keeps what it showed; the next reconnection reads it again.
    }
  }

  /** The first page again (the page's opening), or the next one after it. */
  async load(more = false): Promise<void> {
    const before = more ? (this.nextCursor ?? undefined) : undefined;
    const answer = await call(
      client.GET("/api/notifications", { params: { query: { limit: PAGE, before } } }),
    );
    this.items = more ? [...this.items, ...answer.notifications] : answer.notifications;
    this.nextCursor = answer.nextCursor;
    this.unreadCount = answer.unreadCount;
    this.loaded = true;
  }

  /** Marks every notification up to the newest shown as read. */
  async markAllRead(): Promise<void> {
    const newest = this.items[0];
    if (!newest) return;
    const answer = await call(
      client.POST("/api/notifications/read", { body: { upTo: newest.id } }),
    );
    this.unreadCount = answer.unreadCount;
    this.markLocally(newest.id, null);
  }

  async markRead(id: number): Promise<void> {
    const answer = await call(client.POST("/api/notifications/read", { body: { ids: [id] } }));
    this.unreadCount = answer.unreadCount;
    this.markLocally(null, [id]);
  }

  private markLocally(upTo: number | null, ids: number[] | null): void {
    this.items = this.items.map((item) =>
      !item.read &&
      ((upTo === null && ids === null) ||
        (upTo !== null && item.id <= upTo) ||
        (ids?.includes(item.id) ?? false))
        ? { ...item, read: true }
        : item,
    );
  }
}

export const notifications = new NotificationStore();

/** One line saying what happened, without the actor's name (shown beside it). */
export function describe(item: Notification): string {
  switch (item.type) {
    case "followed":
      return "followed you";
    case "favorited":
      return `liked your recipe “${item.article?.title ?? ""}”`;
    case "commented":
      return `commented on your recipe “${item.article?.title ?? ""}”`;
    case "mentioned":
      return item.chat
        ? `mentioned you in ${item.chat.title ?? "a chat"}`
        : `mentioned you in a comment on “${item.article?.title ?? ""}”`;
    case "chat.invited":
      return `added you to the chat ${item.chat?.title ?? ""}`;
    case "chat.join_decided":
      return `${item.reason === "approved" ? "approved" : "declined"} your request to join ${
        item.chat?.title ?? "a chat"
      }`;
    case "moderation":
      return moderationText(item);
    default:
      return "did something";
  }
}

function moderationText(item: Notification): string {
  const why = item.reason ? `: ${item.reason}` : "";
  if (item.comment) return `A moderator removed your comment “${item.comment.body ?? ""}”${why}`;
  if (item.article) return `A moderator removed your recipe “${item.article.title ?? ""}”${why}`;
  if (item.message)
    return `A moderator removed your message in ${item.chat?.title ?? "a chat"}${why}`;
  return `A moderator banned you from writing to chats${why}`;
}

/** Where a notification leads: the recipe, the chat, or the person. */
export function target(item: Notification): string | null {
  if (item.type === "moderation") {
    if (item.chat) return `/chat/${item.chat.id}`;
    // A removed comment's recipe is still there; a removed recipe is not.
    return item.comment && item.article
      ? `/article/${encodeURIComponent(item.article.slug)}`
      : null;
  }
  if (item.chat) return `/chat/${item.chat.id}`;
  if (item.article) return `/article/${encodeURIComponent(item.article.slug)}`;
  if (item.actor) return `/profile/${encodeURIComponent(item.actor.username ?? "")}`;
  return null;
}
