// The websocket's events (API.md, "Websocket"; the README's chat table for `resumed`, `pong`,
// `error` and `chat.deleted`). OpenAPI does not describe websocket frames, so their shapes
// live here; a message is the same object the REST routes answer with.
import type { components } from "$lib/api/schema";

type Schemas = components["schemas"];

export type Person = Schemas["chat_PersonOut"];
export type Attachment = Schemas["chat_AttachmentOut"];
export type ChatMessage = Schemas["chat_MessageOut"];
export type ChatComment = Schemas["chat_CommentOut"];
export type JoinRequest = Schemas["chat_JoinRequestOut"];
export type Notification = Schemas["chat_NotificationOut"];

export interface ChatPosition {
  chatId: number;
  lastSeq: number;
  unreadCount: number;
}

/** Every server-to-client event, by its `type`. */
export interface ServerEvents {
  hello: { general: ChatMessage[]; chats: ChatPosition[] };
  "message.created": ChatMessage;
  "message.updated": ChatMessage;
  "message.deleted": { chatId: number; id: number; seq: number | null };
  "comment.created": {
    chatId: number;
    seq: number | null;
    messageId: number;
    comment: ChatComment;
  };
  "chat.read": { chatId: number; seq: number; unreadCount: number };
  "chat.member_joined": { chatId: number; user: Person | null };
  "chat.member_left": { chatId: number; user: Person | null };
  "chat.join_requested": JoinRequest;
  "chat.join_decided": JoinRequest;
  "chat.deleted": { chatId: number };
  "chat.updated": {
    chatId: number;
    title: string | null;
    description: string | null;
    private: boolean;
    messageTtlSeconds: number | null;
  };
  presence: { chatId: number; username: string; online: boolean };
  typing: { chatId: number; username: string };
  "notification.created": Notification;
  "notification.read": { unreadCount: number; upTo: number | null; ids: number[] | null };
  "moderation.banned": Record<string, unknown>;
  resumed: { chatId: number; lastSeq: number };
  pong: Record<string, never>;
  error: { message: string; fields?: Record<string, string[]> };
}

export type EventType = keyof ServerEvents;

export type ServerEvent = {
  [K in EventType]: { type: K; data: ServerEvents[K] };
}[EventType];

/** The chat an event is about, when it is about one. */
export function chatOf(event: ServerEvent): number | null {
  const data = event.data as { chatId?: unknown };
  return typeof data.chatId === "number" ? data.chatId : null;
}
