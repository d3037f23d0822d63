"""Groups from the command line: creating and changing them, members, invite links with
approval, leaving; each with its refusals and exit codes."""

from __future__ import annotations

import re

from tests.chat_client.conftest import LIVE, ChatUser, MakeUser


def invite_url(out: str) -> str:
    # The web client's page (PUBLIC_URL/join/{code}), which a browser opens.
    found = re.search(r"^(http\S+/join/\S+)$", out, re.MULTILINE)
    assert found, out
    return found.group(1)


async def test_a_private_group_is_joined_by_link_once_its_owner_approves(
    alice: ChatUser, bob: ChatUser, make_user: MakeUser
) -> None:
    created = await alice.ok("group", "create", "Bakers", "--private", "--description", "bread")
    assert re.fullmatch(r"created the private group Bakers \(chat \d+\); .*\n", created.out)
    link = invite_url((await alice.ok("invite", "create", "Bakers")).out)
    watch = await bob.start("watch", "--all")
    await watch.wait_for(LIVE)

    asked = await bob.ok("join", link)
    assert re.fullmatch(r"asked to join chat \d+ \(request \d+, pending\); .*\n", asked.out)
    # Not a member yet: the group is not among bob's chats.
    missing = await bob.run("history", "Bakers")
    assert (missing.code, missing.err) == (
        1,
        "chopchop-chat: you have no chat called 'Bakers'; `chopchop-chat chats` lists yours\n",
    )
    pending = await alice.ok("requests", "list", "Bakers")
    assert re.fullmatch(r"request \d+: bob asked at \d\d:\d\d \(pending\)\n", pending.out)

    approved = await alice.ok("approve", "Bakers", "bob")
    assert re.fullmatch(r"let bob in \(Bakers, request \d+\)\n", approved.out)
    await watch.wait_for("your request to join was approved")
    await alice.ok("send", "--chat", "Bakers", "welcome bob")
    line = await watch.wait_for("welcome bob")
    assert re.fullmatch(r"\[Bakers\] #\d+ \d\d:\d\d alice: welcome bob", line)
    assert (await alice.ok("requests", "list", "Bakers")).out == (
        "no pending requests to join Bakers\n"
    )

    # Someone turned away is told so by the server when asking again too soon.
    carol = make_user("carol")
    await carol.register()
    await carol.ok("join", link.rsplit("/", 1)[1])
    rejected = await alice.ok("reject", "Bakers", "carol")
    assert rejected.out.startswith("turned away carol (Bakers, request ")
    again = await carol.run("join", link)
    assert again.code == 1, again
    assert re.fullmatch(
        r"chopchop-chat: your request to join was rejected; you may ask again in (23 h 59 min|1 d)\n",
        again.err,
    ), again.err


async def test_a_group_is_shown_changed_and_its_members_managed(
    alice: ChatUser, bob: ChatUser, make_user: MakeUser
) -> None:
    await alice.ok("group", "create", "Soup club")
    added = await alice.ok("members", "add", "Soup club", "bob")
    assert added.out == "added bob to Soup club\n"
    edited = await alice.ok(
        "group", "edit", "Soup club", "--title", "Soups", "--private", "--expire", "2h"
    )
    assert re.fullmatch(r"updated Soups \(chat \d+\)\n", edited.out)

    shown = await bob.ok("group", "show", "Soups")
    assert shown.lines[1:] == [
        "  messages expire after 2 h",
        "  2 members:",
        "    alice (owner), offline",
        "    bob, offline",
    ]
    assert re.fullmatch(r"Soups \(chat \d+\): private group, owner alice", shown.lines[0])
    listed = await alice.ok("members", "list", "Soups")
    assert listed.lines[0] == "Soups: 2 members"

    # Only the owner changes a group; the server's sentence is passed on.
    refused = await bob.run("members", "add", "Soups", "alice")
    assert refused.code == 1 and refused.err.startswith("chopchop-chat: "), refused
    unknown = await alice.run("members", "add", "Soups", "nobody-here")
    assert (unknown.code, unknown.err) == (
        1,
        "chopchop-chat: there is no user called 'nobody-here'\n",
    )
    nothing = await alice.run("group", "edit", "Soups")
    assert nothing.code == 1 and "nothing to change" in nothing.err

    assert (await bob.ok("leave", "Soups")).out == "you left Soups\n"
    assert (await alice.ok("members", "list", "Soups")).lines[0] == "Soups: 1 member"
    await alice.ok("members", "add", "Soups", "bob")
    assert (await alice.ok("members", "remove", "Soups", "bob")).out == "removed bob from Soups\n"
    general = await alice.run("leave", "General")
    assert (general.code, general.err) == (
        1,
        "chopchop-chat: only groups can be left; General is a general chat\n",
    )

    unconfirmed = await alice.run("group", "delete", "Soups")
    assert unconfirmed.code == 1 and "--yes" in unconfirmed.err
    assert (await alice.ok("group", "delete", "Soups", "--yes")).out == "deleted Soups\n"
    assert (await alice.run("group", "show", "Soups")).code == 1


async def test_invite_links_are_listed_and_revoked(alice: ChatUser, bob: ChatUser) -> None:
    await alice.ok("group", "create", "Open kitchen")
    link = invite_url((await alice.ok("invite", "create", "Open kitchen", "--expires", "1h")).out)
    code = link.rsplit("/", 1)[1]
    listed = await alice.ok("invite", "list", "Open kitchen")
    # Listed by an id of their own: the code is shown only once, when the link is made.
    assert re.fullmatch(r"(\w+)  made \d\d:\d\d, made by alice, expires \d\d:\d\d\n", listed.out), (
        listed.out
    )

    # A public group lets in at once.
    assert re.fullmatch(r"joined Open kitchen \(chat \d+\)\n", (await bob.ok("join", link)).out)
    revoked = await alice.ok("invite", "revoke", "Open kitchen", link)
    assert revoked.out == f"revoked the invite link {code}; it no longer lets anyone in\n"
    assert (await alice.ok("invite", "list", "Open kitchen")).out == (
        "no active invite links to Open kitchen\n"
    )
    dead = await bob.run("join", code)
    assert (dead.code, dead.err) == (
        1,
        "chopchop-chat: that invite link is unknown, expired or revoked\n",
    )
    bad = await alice.run("invite", "create", "Open kitchen", "--expires", "soon")
    assert bad.code == 2 and "is not a duration" in bad.err


async def test_group_commands_need_a_login(make_user: MakeUser) -> None:
    nobody = make_user("nobody")
    anonymous = await nobody.run("group", "create", "Nope")
    assert anonymous.code == 4 and "not logged in" in anonymous.err
