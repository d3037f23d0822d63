"""The rest of the chat: groups and their members, invite links and join requests, replies,
edits, deletions and comments, the user's status, notifications, and the moderators' tools."""

from __future__ import annotations

import argparse
import re

from yarl import URL

from chat_client.api import ChatApi
from chat_client.commands import Context, message_text, on_message, write_list
from chat_client.errors import ApiError, ClientError, not_found_as
from chat_client.models import JSON, Chat, chat_title
from chat_client.render import duration, person, plural
from chat_client.targets import find_chat

# `4h`, `30m`, `2d`, `90s` or plain seconds.
DURATION = re.compile(r"(\d+)\s*([smhd]?)")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A comment's message that is not found may have gone since it was listed.
GONE = " (deleted or expired?)"


def seconds_of(value: str) -> int:
    """A duration such as `4h`, `30m`, `2d` or `3600`, in seconds."""
    found = DURATION.fullmatch(value.strip().lower())
    seconds = int(found.group(1)) * UNIT_SECONDS[found.group(2)] if found else 0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 90, 30m, 4h or 2d")
    return seconds


def invite_code(value: str) -> str:
    """The code of an invite link, whether given alone or as the whole link."""
    text = value.strip()
    if "/" in text:
        segments = [part for part in URL(text).path.split("/") if part]
        text = segments[-1] if segments else ""
    if not text:
        raise ClientError(f"{value!r} is neither an invite code nor an invite link")
    return text


async def group_chat(api: ChatApi, name: str) -> Chat:
    chat = await find_chat(api, name)
    if chat["type"] != "group":
        raise ClientError(f"{chat_title(chat)} is a {chat['type']} chat, not a group")
    return chat


# Groups


async def group_create(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await api.create_group(args.title, args.description, args.private)
    kind = "private" if chat.get("private") else "public"
    ctx.write(
        f"created the {kind} group {chat_title(chat)} (chat {chat['id']}); "
        f"invite people with `chopchop-chat members add {chat['id']} USER` "
        f"or `chopchop-chat invite create {chat['id']}`"
    )


async def group_show(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    for line in ctx.renderer.chat_details(dict(await api.chat(chat["id"]))):
        ctx.write(line)


async def group_edit(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    changes: JSON = {}
    if args.title is not None:
        changes["title"] = args.title
    if args.description is not None:
        changes["description"] = args.description
    if args.private is not None:
        changes["private"] = args.private
    if args.expire is not None:
        changes["messageTtlSeconds"] = args.expire or None
    if not changes:
        raise ClientError("nothing to change: give --title, --description, --private, --public, "
                          "--expire or --keep")  # fmt: skip
    updated = await api.update_chat(chat["id"], changes)
    ctx.write(f"updated {chat_title(updated)} (chat {updated['id']})")


async def group_delete(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    if not args.yes:
        raise ClientError(
            f"deleting {chat_title(chat)} removes it with every message and file for all "
            f"its members; run again with --yes to do it"
        )
    await api.delete_chat(chat["id"])
    ctx.write(f"deleted {chat_title(chat)}")


# Members


async def members_list(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    details: JSON = dict(await api.chat(chat["id"]))
    ctx.write(f"{chat_title(chat)}: {plural(len(details.get('members') or []), 'member')}")
    for line in ctx.renderer.members(details):
        ctx.write(line)


async def members_add(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    for username in args.usernames:
        name = username.lstrip("@")
        with not_found_as(f"there is no user called {name!r}"):
            await api.add_member(chat["id"], name)
        ctx.write(f"added {name} to {chat_title(chat)}")


async def members_remove(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    name = args.username.lstrip("@")
    with not_found_as(f"{name} is not a member of {chat_title(chat)}"):
        await api.remove_member(chat["id"], name)
    ctx.write(f"removed {name} from {chat_title(chat)}")


async def leave(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    if chat["type"] != "group":
        raise ClientError(f"only groups can be left; {chat_title(chat)} is a {chat['type']} chat")
    await api.remove_member(chat["id"], api.require_session().username)
    ctx.write(f"you left {chat_title(chat)}")


# Invite links and join requests


async def invite_create(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    invite = await api.create_invite(chat["id"], args.expires)
    approval = " (the owner approves each request)" if chat.get("private") else ""
    ctx.write(f"invite link to {chat_title(chat)}{approval}, valid until "
              f"{ctx.renderer.time(invite.get('expiresAt'))}:")  # fmt: skip
    ctx.write(str(invite["url"]))
    ctx.write(f"others join with: chopchop-chat join {invite['code']}")


async def invite_list(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    invites = await api.invites(chat["id"])
    write_list(ctx, invites, ctx.renderer.invite, f"no active invite links to {chat_title(chat)}")


async def invite_revoke(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    code = invite_code(args.code)
    with not_found_as(f"no active invite link {code} to {chat_title(chat)}"):
        await api.revoke_invite(chat["id"], code)
    ctx.write(f"revoked the invite link {code}; it no longer lets anyone in")


async def join(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    code = invite_code(args.code)
    with not_found_as("that invite link is unknown, expired or revoked"):
        answer = await api.join(code)
    if "chat" in answer:
        chat = answer["chat"]
        ctx.write(f"joined {chat_title(chat)} (chat {chat['id']})")
        return
    request = answer.get("joinRequest", {})
    if request.get("status") == "approved":
        ctx.write(f"you are already let in to chat {request.get('chatId')}")
        return
    ctx.write(
        f"asked to join chat {request.get('chatId')} (request {request.get('id')}, "
        f"{request.get('status', 'pending')}); the owner decides, and `watch --all` "
        "shows the answer"
    )


async def requests_list(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await group_chat(api, args.chat)
    requests = await api.join_requests(chat["id"])
    none = f"no pending requests to join {chat_title(chat)}"
    write_list(ctx, requests, ctx.renderer.join_request, none)


async def decide(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    """`approve` and `reject`: by the request's number or by the person's name."""
    chat = await group_chat(api, args.chat)
    wanted = args.request.lstrip("@")
    request_id: int | None = int(wanted) if wanted.isdigit() else None
    name = wanted
    if request_id is None:
        pending = await api.join_requests(chat["id"])
        matching = [r for r in pending if person(r.get("user")).lower() == wanted.lower()]
        if not matching:
            raise ClientError(f"{wanted} has no pending request to join {chat_title(chat)}")
        request_id = int(matching[0]["id"])
        name = person(matching[0].get("user"))
    with not_found_as(f"no pending request {wanted} to join {chat_title(chat)}"):
        decided = await api.decide(chat["id"], request_id, args.decision)
    who = person(decided["user"]) if decided.get("user") else name
    verb = "let" if args.decision == "approve" else "turned away"
    ending = " in" if args.decision == "approve" else ""
    ctx.write(f"{verb} {who}{ending} ({chat_title(chat)}, request {request_id})")


# Messages


async def reply(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    text = message_text(args.text)
    chat = await find_chat(api, args.chat)
    message = await api.send(chat["id"], text, reply_to=args.message_id)
    ctx.write(f"sent message #{message['id']} to {chat_title(chat)} in reply to #{args.message_id}")


async def edit(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    text = message_text(args.text)
    async with on_message(ctx, api, args, done="edited", missing=" that you can edit") as chat_id:
        await api.edit(chat_id, args.message_id, text)


async def delete(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    async with on_message(ctx, api, args, done="deleted") as chat_id:
        await api.delete_message(chat_id, args.message_id, args.reason)


async def comment(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    text = message_text(args.text)
    async with on_message(ctx, api, args, done="commented on", missing=GONE) as chat_id:
        await api.comment(chat_id, args.message_id, text)


async def comments(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    async with on_message(ctx, api, args, missing=GONE) as chat_id:
        found = await api.comments(chat_id, args.message_id)
    ctx.write(f"message #{args.message_id}: {plural(len(found), 'comment')}")
    for line in found:
        ctx.write(ctx.renderer.comment(line))


# The user's status and notifications


async def status(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    session = api.require_session()
    ctx.write(f"{session.username} at {ctx.gateway}")
    for line in ctx.renderer.status(await api.status()):
        ctx.write(line)


async def notifications(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    try:
        page = await api.notifications(before=args.before, limit=args.limit, types=args.types)
    except ApiError as exc:
        if exc.status in (404, 405):
            raise ClientError(
                f"this gateway ({ctx.gateway}) has no notifications yet; it answered "
                f"{exc.status} to /api/notifications"
            ) from exc
        raise
    notes = page.get("notifications", [])
    unread = int(page.get("unreadCount") or 0)
    ctx.write(f"{plural(unread, 'unread notification')} (* marks them)")
    for note in notes:
        ctx.write(ctx.renderer.notification(note))
    if page.get("nextCursor") is not None and notes:
        ctx.write(f"-- older: chopchop-chat notifications --before {page['nextCursor']} --")
    if args.mark_read and notes:
        left = await api.notifications_read({"upTo": max(int(n["id"]) for n in notes)})
        ctx.write(f"marked as read; {left} unread left")


# Moderators


async def reports(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    page = await api.reports(args.status, args.limit)
    found = page.get("reports", [])
    ctx.write(f"{plural(int(page.get('reportsCount') or 0), 'report')}")
    for item in found:
        counted = "" if item.get("counted") else ", not counted toward a ban"
        resolution = f" -> {item['resolution']}" if item.get("resolution") else ""
        ctx.write(
            f"report {item['id']}  {ctx.renderer.time(item.get('createdAt'))}  "
            f"{person(item.get('reporter'))} about {person(item.get('reported'))}: "
            f"{item.get('reason')} ({item.get('status')}{counted}{resolution})"
        )


async def resolve(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    note = " ".join(args.note).strip() or None
    with not_found_as(f"there is no report {args.report_id}"):
        report = await api.resolve(args.report_id, args.action, note)
    verb = "dismissed" if args.action == "dismiss" else "upheld"
    ctx.write(f"{verb} report {report.get('id', args.report_id)} about "
              f"{person(report.get('reported'))}")  # fmt: skip


async def bans(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    def line(ban: JSON) -> str:
        by = person(ban["by"]) if ban.get("by") else "automatic, after reports"
        until = ctx.renderer.time(ban.get("until"))
        return f"{person(ban.get('user'))} until {until} ({by}): {ban.get('reason')}"

    write_list(ctx, await api.bans(), line, "nobody is banned")


async def ban(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    reason = " ".join(args.reason).strip()
    if not reason:
        raise ClientError("say why you ban this user")
    name = args.username.lstrip("@")
    with not_found_as(f"there is no user called {name!r}"):
        made = await api.ban(name, args.duration, reason)
    ctx.write(
        f"banned {name} from writing to chats for {duration(args.duration)}, until "
        f"{ctx.renderer.time(made.get('until'))}"
    )


async def unban(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    name = args.username.lstrip("@")
    with not_found_as(f"{name} is not banned"):
        await api.unban(name)
    ctx.write(f"lifted the ban on {name}")
