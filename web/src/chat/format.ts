// Words for the chat screens: times, sizes, the send budget and bans, as a person reads them.

export interface Budget {
  limit: number;
  remaining: number;
  periodSeconds: number;
  resetsAt: string;
}

export interface Ban {
  reason: string;
  startsAt: string;
  endsAt: string;
}

/** "14:05" today, "Tue 14:05" this week, "3 Dec 14:05" before, in the person's time zone. */
export function clock(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (at.toDateString() === now.toDateString()) return time;
  const days = (now.getTime() - at.getTime()) / 86_400_000;
  if (days > 0 && days < 6) {
    return `${at.toLocaleDateString([], { weekday: "short" })} ${time}`;
  }
  return `${at.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

/** "12 KB", "3.4 MB". */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "this hour" for a one-hour period, else "until 14:00". */
function periodWords(budget: Budget, now: Date): string {
  if (budget.periodSeconds === 3600) return "this hour";
  return `until ${clock(budget.resetsAt, now)}`;
}

/** "You can send 3 more messages this hour", or when the next one can go. */
export function budgetWords(budget: Budget, now: Date = new Date()): string {
  const period = periodWords(budget, now);
  if (budget.remaining <= 0) {
    return `You have sent all ${budget.limit} messages allowed ${period}; you can send again at ${clock(budget.resetsAt, now)}.`;
  }
  const noun = budget.remaining === 1 ? "message" : "messages";
  return `You can send ${budget.remaining} more ${noun} ${period}.`;
}

/** The ban that ends last, among those still running. */
export function activeBan(bans: Ban[], now: Date = new Date()): Ban | null {
  let found: Ban | null = null;
  for (const ban of bans) {
    if (new Date(ban.endsAt) <= now) continue;
    if (found === null || new Date(ban.endsAt) > new Date(found.endsAt)) found = ban;
  }
  return found;
}

/** "You are banned from sending until 14:05". */
export function banWords(ban: Ban, now: Date = new Date()): string {
  return `You are banned from sending until ${clock(ban.endsAt, now)}.`;
}

/** The end of a ban named by an API sentence ("... banned from sending messages until <time>"). */
export function banEndIn(sentence: string): string | null {
  const found = /banned[^.]*?until (\d{4}-\d{2}-\d{2}T[\d:.]+Z)/i.exec(sentence);
  return found?.[1] ?? null;
}

/** The value of a datetime-local field for a moment (local time, minutes). */
export function localInputValue(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** The people typing in a chat, in words: "ann is typing…", "ann and bob are typing…". */
export function typingWords(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** The link a person shares to let others join, served by this client. */
export function inviteLink(origin: string, code: string): string {
  return `${origin}/join/${encodeURIComponent(code)}`;
}

/** The code of an invite, from this client's link, the API's URL, or the code itself. */
export function inviteCode(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const found = /\/(?:api\/chats\/)?join\/([^/?#\s]+)/.exec(trimmed);
  if (found?.[1] !== undefined) return decodeURIComponent(found[1]);
  return /^[\w-]+$/.test(trimmed) ? trimmed : null;
}
