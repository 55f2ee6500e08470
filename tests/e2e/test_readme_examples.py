"""Every GraphQL example of README.md runs as written, in order, against a freshly started
``loyalty serve``: the values in angle brackets are filled in as README.md says (from the
printout, from earlier answers, the current time), and no answer carries an error, neither a
GraphQL error nor an expected outcome that is not a success (a ``UserError``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from readme import README, examples, fill, placeholders
from served import Served

pytestmark = pytest.mark.e2e

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def from_the_printout(output: str, wanted: set[str]) -> dict[str, str]:
    """What a reader copies from the printout: ``<member EMAIL>``, ``<venue NAME>``,
    ``<reward KEY>`` (the id on that line), ``<partner API key>``."""
    values = {}
    for name in wanted:
        kind, _, text = name.partition(" ")
        if name == "partner API key":
            [values[name]] = re.findall(r"^  .*X-API-Key: (\S+)", output, re.M)
        elif kind in ("member", "venue", "reward"):
            lines = re.findall(rf"^  .*{re.escape(text)}\s.*\b{kind} ({UUID})$", output, re.M)
            assert len(lines) == 1, f"the printout has no single line for <{name}>"
            values[name] = lines[0]
    return values


LATER = re.compile(r"now \+ (\d+) (minutes?|hours?)")


def moments(now: datetime, wanted: set[str]) -> dict[str, str]:
    """``<now>``, and ``<now + 30 minutes>``, ``<now + 1 hour>``...: the time now, and later."""
    values = {"now": now.isoformat(timespec="seconds")}
    for name in wanted:
        later = LATER.fullmatch(name)
        if later:
            amount, unit = int(later[1]), later[2].rstrip("s")
            delta = timedelta(minutes=amount) if unit == "minute" else timedelta(hours=amount)
            values[name] = (now + delta).isoformat(timespec="seconds")
    return values


def remember(data: dict[str, Any], values: dict[str, str]) -> None:
    """Each scalar of an answer, under its path from the operation's field
    (``login.accessToken``, ``registerMember.member.id``, ``me.invitations.0.id``), for the
    examples after it."""

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}.{key}", inner)
        elif isinstance(value, list):  # items by their position: me.invitations.0.id
            for n, inner in enumerate(value):
                walk(f"{path}.{n}", inner)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            values[path] = str(value)

    for field, value in data.items():
        walk(field, value)


def user_errors(value: Any) -> list[dict[str, Any]]:
    """Every expected outcome in an answer that is not a success (it has a code and a message)."""
    if isinstance(value, list):
        return [e for v in value for e in user_errors(v)]
    if isinstance(value, dict):
        if {"code", "message"} <= value.keys():
            return [value]
        return [e for v in value.values() for e in user_errors(v)]
    return []


def test_every_graphql_example_in_the_readme_runs_as_written_in_order(newcomer: Served) -> None:
    found = examples()
    assert len(found) >= 15
    used = set().union(*(placeholders(e.variables) | placeholders(e.headers) for e in found))
    values = from_the_printout(newcomer.output(), used)
    for example in found:
        values.update(moments(datetime.now(ZoneInfo("Europe/Paris")), used))
        response = httpx.post(
            f"{newcomer.url}/graphql",
            json={"query": example.query, "variables": fill(example.variables, values)},
            headers={
                "accept": "application/graphql-response+json",
                **fill(example.headers, values),
            },
            timeout=30,
        )
        where = f"README.md:{example.line}"
        assert response.status_code == 200, (where, response.text)
        answer = response.json()
        assert "errors" not in answer, (where, answer)
        assert user_errors(answer["data"]) == [], (where, answer)
        remember(answer["data"], values)


def test_the_readme_says_how_its_examples_are_written() -> None:
    text = README.read_text()
    for said in (
        "### Reading the examples",
        "`<member ines.moreau@example.org>`",
        "`<login.accessToken>`",
        "`<now>`",
        "tests/e2e/test_readme_examples.py",
    ):
        assert said in text
    for example in examples():
        for name in placeholders(example.variables) | placeholders(example.headers):
            kind = name.split(" ")[0].split(".")[0]
            assert kind in (
                "member",
                "venue",
                "reward",
                "partner",
                "now",
                "login",
                "registerMember",
                "me",
                "createExperience",
                "respondToInvitation",
            )
