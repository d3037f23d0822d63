import { describe, expect, it } from "vitest";

import {
  activeBan,
  banEndIn,
  banWords,
  budgetWords,
  fileSize,
  inviteCode,
  inviteLink,
  localInputValue,
  typingWords,
} from "./format";

const now = new Date(2026, 11, 6, 13, 20);
const at = (hours: number, minutes: number) => new Date(2026, 11, 6, hours, minutes).toISOString();
const hhmm = (iso: string) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

describe("chat words", () => {
  it("says the send budget in words", () => {
    const budget = { limit: 20, remaining: 3, periodSeconds: 3600, resetsAt: at(14, 0) };
    expect(budgetWords(budget, now)).toBe("You can send 3 more messages this hour.");
    expect(budgetWords({ ...budget, remaining: 1 }, now)).toBe(
      "You can send 1 more message this hour.",
    );
    expect(budgetWords({ ...budget, periodSeconds: 600 }, now)).toBe(
      `You can send 3 more messages until ${hhmm(at(14, 0))}.`,
    );
    expect(budgetWords({ ...budget, remaining: 0 }, now)).toBe(
      `You have sent all 20 messages allowed this hour; you can send again at ${hhmm(at(14, 0))}.`,
    );
  });

  it("says a ban in words, the one that ends last among those running", () => {
    const bans = [
      { reason: "old", startsAt: at(1, 0), endsAt: at(5, 0) },
      { reason: "a", startsAt: at(12, 0), endsAt: at(14, 5) },
      { reason: "b", startsAt: at(12, 0), endsAt: at(13, 30) },
    ];
    const ban = activeBan(bans, now);
    expect(ban?.reason).toBe("a");
    expect(banWords(ban!, now)).toBe(`You are banned from sending until ${hhmm(at(14, 5))}.`);
    expect(activeBan([bans[0]!], now)).toBeNull();
  });

  it("finds the end of a ban in the API's sentence", () => {
    expect(banEndIn("You are banned from sending messages until 2026-12-06T14:05:00.000Z.")).toBe(
      "2026-12-06T14:05:00.000Z",
    );
    expect(banEndIn("Chat not found.")).toBeNull();
  });

  it("builds invite links of this client and reads the code back from any form", () => {
    const link = inviteLink("http://localhost:8080", "abc_DEF-1");
    expect(link).toBe("http://localhost:8080/join/abc_DEF-1");
    expect(inviteCode(link)).toBe("abc_DEF-1");
    expect(inviteCode("http://127.0.0.1:8080/api/chats/join/xyz-9")).toBe("xyz-9");
    expect(inviteCode(" xyz-9 ")).toBe("xyz-9");
    expect(inviteCode("not a link")).toBeNull();
    expect(inviteCode("")).toBeNull();
  });

  it("formats sizes, typing and the datetime field", () => {
    expect(fileSize(512)).toBe("512 B");
    expect(fileSize(12 * 1024)).toBe("12 KB");
    expect(fileSize(3.4 * 1024 * 1024)).toBe("3.4 MB");
    expect(typingWords([])).toBe("");
    expect(typingWords(["ann"])).toBe("ann is typing…");
    expect(typingWords(["ann", "bob"])).toBe("ann and bob are typing…");
    expect(typingWords(["a", "b", "c"])).toBe("3 people are typing…");
    expect(localInputValue(new Date(2026, 0, 2, 3, 4))).toBe("2026-01-02T03:04");
  });
});
