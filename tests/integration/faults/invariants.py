"""What must hold after the faults, read with SQL from an administrator's connection and compared
with what the clients were told. Each check returns the problems it found (none: it holds)."""

from __future__ import annotations

import uuid
from collections import Counter

import asyncpg

from tests.integration.faults.workload import REWARD_STOCK, VENUE, Outcomes, World
from tests.integration.programme import REFERRAL_POINTS


async def ledger(conn: asyncpg.Connection) -> list[str]:
    """Double entry, whole transactions: every entry's postings sum to zero, and an entry that
    moves points has its postings, its award lines and its lots; every balance is the sum of its
    postings and none is negative."""
    checks = {
        "entries whose postings do not sum to zero": """
            SELECT entry_id FROM loyalty.postings GROUP BY entry_id HAVING sum(delta) <> 0""",
        "entries of points without postings": """
            SELECT e.id FROM loyalty.journal_entries e WHERE e.points <> 0
            AND NOT EXISTS (SELECT 1 FROM loyalty.postings p WHERE p.entry_id = e.id)""",
        "postings without their entry": """
            SELECT p.id FROM loyalty.postings p
            WHERE NOT EXISTS (SELECT 1 FROM loyalty.journal_entries e WHERE e.id = p.entry_id)""",
        "earns whose award lines differ from their points": """
            SELECT e.id FROM loyalty.journal_entries e WHERE e.kind = 'earn' AND e.points <>
            (SELECT coalesce(sum(l.points), 0) FROM loyalty.award_lines l WHERE l.entry_id = e.id)""",
        "earns whose lots differ from their points": """
            SELECT e.id FROM loyalty.journal_entries e WHERE e.kind = 'earn' AND e.points <>
            (SELECT coalesce(sum(l.points), 0) FROM loyalty.lots l WHERE l.entry_id = e.id)""",
        "balances that differ from their postings": """
            SELECT a.id FROM loyalty.accounts a WHERE a.member_id IS NOT NULL AND a.balance <>
            (SELECT coalesce(sum(p.delta), 0) FROM loyalty.postings p WHERE p.account_id = a.id)""",
        "negative balances": "SELECT id FROM loyalty.accounts WHERE balance < 0",
        "redemptions without their entry, or entries without their redemption": """
            SELECT coalesce(r.entry_id, e.id) FROM loyalty.redemptions r
            FULL JOIN (SELECT id FROM loyalty.journal_entries WHERE kind = 'redeem') e
            ON e.id = r.entry_id WHERE r.id IS NULL OR e.id IS NULL""",
    }
    problems = []
    for name, sql in checks.items():
        rows = await conn.fetch(sql)
        if rows:
            problems.append(f"{len(rows)} {name}: {[r[0] for r in rows[:5]]}")
    return problems


async def earns(conn: asyncpg.Connection, world: World) -> list[str]:
    """Exactly one entry per external id the box office sent, the one its answer named; and no
    entry for an external id it never sent."""
    outcomes = world.outcomes
    rows = await conn.fetch(
        "SELECT external_id, id, points, member_id FROM loyalty.journal_entries "
        "WHERE kind = 'earn' AND source = $1",
        f"venue:{VENUE}",
    )
    found: dict[str, list[tuple[str, int, str]]] = {}
    for r in rows:
        found.setdefault(r["external_id"], []).append(
            (str(r["id"]), r["points"], str(r["member_id"]))
        )
    problems = []
    for external_id, (member, entry, points) in outcomes.earns.items():
        if found.get(external_id) != [(entry, points, member)]:
            problems.append(f"earn {external_id}: answered {entry}, held {found.get(external_id)}")
    attendance = {f"experience-invitation:{i.id}" for i in world.invitations}
    unknown = set(found) - set(outcomes.earns) - attendance
    if unknown:
        problems.append(f"entries for external ids never sent: {sorted(unknown)[:5]}")
    return problems


async def redemptions(conn: asyncpg.Connection, outcomes: Outcomes) -> list[str]:
    """Exactly one redemption per key answered so, none for a key refused, stock kept."""
    rows = await conn.fetch(
        "SELECT e.external_id, r.id FROM loyalty.journal_entries e "
        "JOIN loyalty.redemptions r ON r.entry_id = e.id WHERE e.kind = 'redeem'"
    )
    held = Counter(r["external_id"] for r in rows)
    ids = {r["external_id"]: str(r["id"]) for r in rows}
    problems = [f"redemption {k} held {n} times" for k, n in held.items() if n != 1]
    for key, (member, redemption) in outcomes.redemptions.items():
        if ids.get(f"{member}:{key}") != redemption:
            problems.append(f"redemption {key}: answered {redemption}, held {ids.get(key)}")
    for key, member in outcomes.refused.items():
        if f"{member}:{key}" in ids:
            problems.append(f"redemption {key} was refused but is held")
    expected = {f"{m}:{k}" for k, (m, _) in outcomes.redemptions.items()}
    if set(held) != expected:
        problems.append(f"redemptions nobody was told of: {sorted(set(held) - expected)[:5]}")
    stock = await conn.fetchval("SELECT stock FROM loyalty.rewards WHERE key = 'faults-coffee'")
    if stock != REWARD_STOCK - len(rows):
        problems.append(f"stock {stock} after {len(rows)} redemptions of {REWARD_STOCK}")
    return problems


async def check_ins(conn: asyncpg.Connection, world: World) -> list[str]:
    """Each invitation checked in once (one scan logged as the check-in, the others answered
    already checked in), its attendance earned once; seats taken never above seats."""
    problems = []
    for invitation in world.invitations:
        told = world.outcomes.scans.get(invitation.id, [])
        if not told or set(told) - {"checked_in", "already_checked_in"}:
            problems.append(f"invitation {invitation.id}: told {told}")
        iid = uuid.UUID(invitation.id)
        row = await conn.fetchrow(
            "SELECT state, earn_entry_id FROM loyalty.invitations WHERE id = $1", iid
        )
        logged = await conn.fetchval(
            "SELECT count(*) FROM loyalty.door_scans WHERE invitation_id = $1 "
            "AND outcome = 'checked_in'",
            iid,
        )
        earned = await conn.fetch(
            "SELECT id FROM loyalty.journal_entries WHERE external_id = $1",
            f"experience-invitation:{invitation.id}",
        )
        if row["state"] != "checked_in" or logged != 1:
            problems.append(f"invitation {iid}: {row['state']}, {logged} check-ins logged")
        if [e["id"] for e in earned] != [row["earn_entry_id"]]:
            problems.append(f"invitation {iid}: attendance {earned}, {row['earn_entry_id']}")
    over = await conn.fetch(
        "SELECT id FROM loyalty.experiences WHERE seats_taken > seats OR seats_taken < 0"
    )
    if over:
        problems.append(f"experiences over their seats: {[r['id'] for r in over]}")
    return problems


async def referrals(conn: asyncpg.Connection, outcomes: Outcomes) -> list[str]:
    """Each referral converted once: its events each recorded once, its effects done, the
    referrer's reward and the referee's welcome each one entry."""
    problems = []
    for referral_id, (referrer, referee) in outcomes.referrals.items():
        rid = uuid.UUID(referral_id)
        row = await conn.fetchrow(
            "SELECT status, referee_id, current_referrer_id FROM loyalty.referrals WHERE id = $1",
            rid,
        )
        seen = (row["status"], str(row["referee_id"]), str(row["current_referrer_id"]))
        if seen != ("converted", referee, referrer):
            problems.append(f"referral {rid}: {seen}")
        effects = await conn.fetch(
            "SELECT kind, payload->>'external_id' AS external_id, done_at IS NOT NULL AS done "
            "FROM loyalty.referral_effects WHERE referral_id = $1 ORDER BY kind",
            rid,
        )
        if [(e["kind"], e["done"]) for e in effects] != [
            ("reward_referrer", True),
            ("welcome_referee", True),
        ]:
            problems.append(f"referral {rid}: effects {[dict(e) for e in effects]}")
        for effect, member in zip(effects, (referrer, referee), strict=False):
            entries = await conn.fetch(
                "SELECT member_id, points FROM loyalty.journal_entries WHERE external_id = $1",
                effect["external_id"],
            )
            if len(entries) != 1 or str(entries[0]["member_id"]) != member:
                problems.append(f"referral {rid}: {effect['kind']} entries {entries}")
            elif effect["kind"] == "reward_referrer" and entries[0]["points"] != REFERRAL_POINTS:
                problems.append(f"referral {rid}: reward of {entries[0]['points']}")
    converted = await conn.fetchval(
        "SELECT count(*) FROM loyalty.referrals WHERE status = 'converted'"
    )
    if converted != len(outcomes.referrals):
        problems.append(f"{converted} referrals converted of {len(outcomes.referrals)}")
    return problems


async def identity_to_loyalty(conn: asyncpg.Connection, outcomes: Outcomes) -> list[str]:
    """Every event identity committed was delivered and received once, nothing else was: one
    member per registration a client was answered, each known to loyalty once (contacts and
    referral code), each member's contact preferences as identity last acknowledged them."""
    problems = []
    undelivered = await conn.fetchval(
        "SELECT count(*) FROM identity.outbox WHERE delivered_at IS NULL"
    )
    if undelivered:
        problems.append(f"{undelivered} events never delivered")
    sent = {r[0] for r in await conn.fetch("SELECT event_id FROM identity.outbox")}
    received = {r[0] for r in await conn.fetch("SELECT event_id FROM loyalty.inbox")}
    if sent - received:
        problems.append(f"events committed, never received: {sorted(sent - received)[:5]}")
    if received - sent:
        problems.append(f"events received, never committed: {sorted(received - sent)[:5]}")
    members = {str(r[0]) for r in await conn.fetch("SELECT id FROM identity.members")}
    if members != outcomes.members:
        problems.append(
            f"members held but never answered: {sorted(members - outcomes.members)[:5]}, "
            f"answered but not held: {sorted(outcomes.members - members)[:5]}"
        )
    for table, sql in {
        "identity's outbox": "SELECT payload->>'member_id' FROM identity.outbox "
        "WHERE type = 'member.registered'",
        "loyalty's inbox": "SELECT payload->>'member_id' FROM loyalty.inbox "
        "WHERE type = 'member.registered'",
        "loyalty's contacts": "SELECT member_id::text FROM loyalty.member_contacts",
        "loyalty's referral codes": "SELECT member_id::text FROM loyalty.referral_codes",
    }.items():
        held = Counter(r[0] for r in await conn.fetch(sql))
        if held != Counter(members):
            twice = sorted(m for m, n in held.items() if n > 1)[:5]
            problems.append(
                f"{table}: twice {twice}, missing {sorted(members - set(held))[:5]}, "
                f"unknown {sorted(set(held) - members)[:5]}"
            )
    caps = await conn.fetch(
        "SELECT c.member_id::text AS member, c.invitation_cap AS loyalty, "
        "p.invitation_cap_per_30_days AS identity FROM loyalty.member_contacts c "
        "JOIN identity.preferences p ON p.member_id = c.member_id"
    )
    for r in caps:
        told = outcomes.caps.get(r["member"], r["identity"])
        if not r["loyalty"] == r["identity"] == told:
            problems.append(f"member {r['member']}: cap {told} told, {dict(r)} held")
    return problems
