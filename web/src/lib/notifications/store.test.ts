import { describe as suite, expect, it } from "vitest";
import { describe, target, type Notification } from "./store.svelte";

function note(fields: Partial<Notification>): Notification {
  return {
    id: 1,
    type: "followed",
    actor: { username: "jake", image: null },
    article: null,
    comment: null,
    chat: null,
    message: null,
    reason: null,
    createdAt: "2026-12-07T01:00:00.000Z",
    read: false,
    ...fields,
  };
}

suite("a notification's sentence and link", () => {
  it("names the recipe of a like and leads to it", () => {
    const liked = note({ type: "favorited", article: { slug: "pea-soup", title: "Pea soup" } });
    expect(describe(liked)).toBe("liked your recipe “Pea soup”");
    expect(target(liked)).toBe("/article/pea-soup");
  });

  it("leads a follow to the follower's profile", () => {
    expect(describe(note({}))).toBe("followed you");
    expect(target(note({}))).toBe("/profile/jake");
  });

  it("leads a chat mention to its chat", () => {
    const mention = note({
      type: "mentioned",
      chat: { id: 7, title: "Cooks" },
      message: { id: 3, seq: 2 },
    });
    expect(describe(mention)).toBe("mentioned you in Cooks");
    expect(target(mention)).toBe("/chat/7");
  });

  it("says a declined join request was declined", () => {
    const decided = note({
      type: "chat.join_decided",
      reason: "rejected",
      chat: { id: 2, title: "Secret" },
    });
    expect(describe(decided)).toBe("declined your request to join Secret");
  });

  it("gives a moderator's reason, and no link to a removed recipe", () => {
    const removed = note({
      type: "moderation",
      actor: null,
      reason: "unsafe",
      article: { slug: "mud-pie", title: "Mud pie" },
    });
    expect(describe(removed)).toBe("A moderator removed your recipe “Mud pie”: unsafe");
    expect(target(removed)).toBeNull();
    const banned = note({ type: "moderation", actor: null, reason: "spam" });
    expect(describe(banned)).toBe("A moderator banned you from writing to chats: spam");
  });
});
