"""The door page in a phone-sized headless Chromium (Debian's package) against ``loyalty serve``:
staff of the Théâtre du Rivage sign in, type a member's code and see them checked in, in green,
with their name and guests; the same code again is amber, with when and by whom; a code for
another venue is red. With the network gone, a scanned pass is verified in the browser against
the published keys, accepted provisionally and queued; back online the queue is uploaded once
and its outcome shown. A QR code shown to the phone's camera checks its member in. No request
leaves loopback and the page's Content-Security-Policy reports no violation."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import segno
from browser import CSP_VIOLATIONS, Loopback, launched
from served import Served

from services.identity.seed import ADMIN_EMAIL, ADMIN_PASSWORD, VENUES

pytestmark = pytest.mark.e2e

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}
RIVAGE, LUMIERE = VENUES
PASSWORD = "correct horse battery staple"


# ---- a fresh evening, set up through the API -----------------------------------------------


class Api:
    def __init__(self, url: str) -> None:
        self.url = url

    def gql(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    def token(self, email: str, password: str, portal: str = "MEMBER") -> str:
        query = (
            "mutation($i: LoginInput!) { login(input: $i) { __typename "
            "... on Session { accessToken } } }"
        )
        login = self.gql(query, {"i": {"email": email, "password": password, "portal": portal}})
        assert login["login"]["__typename"] == "Session", login
        return str(login["login"]["accessToken"])


@dataclass
class Guest:
    """A member holding an accepted invitation with guests: what the door needs."""

    name: str
    token: str  # the member's access token
    experience_id: str
    guests: int
    code: str
    door_token: str


def _member(api: Api, name: str, interest: str) -> tuple[str, str]:
    email = f"guest.{uuid.uuid4().hex[:10]}@example.org"
    joined = api.gql(
        "mutation($i: RegisterMemberInput!) { registerMember(input: $i) { __typename "
        "... on MemberRegistered { member { id } } } }",
        {"i": {"email": email, "password": PASSWORD, "displayName": name}},
    )
    member_id = joined["registerMember"]["member"]["id"]
    token = api.token(email, PASSWORD)
    api.gql(
        "mutation($i: UpdateContactPreferencesInput!) { updateContactPreferences(input: $i) "
        "{ preferences { interests } } }",
        {"i": {"consents": [{"channel": "EMAIL", "granted": True}], "interests": [interest]}},
        token,
    )
    return token, member_id


def _evening(api: Api, staff: str, venue: str, interest: str) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    created = api.gql(
        "mutation($i: CreateExperienceInput!) { createExperience(input: $i) { __typename "
        "... on ExperienceCreated { experience { id } } } }",
        {
            "i": {
                "key": f"door-page-{uuid.uuid4().hex[:8]}",
                "venueId": venue,
                "title": {"en": "Meet the company", "fr": "Rencontre avec la troupe"},
                "description": {"en": "After the show.", "fr": "Après le spectacle."},
                "startsAt": (now + timedelta(minutes=30)).isoformat(),
                "endsAt": (now + timedelta(hours=2)).isoformat(),
                "seats": 10,
                "guestAllowance": 2,
                "invitationsOpenAt": (now - timedelta(minutes=1)).isoformat(),
                "invitationsCloseAt": (now + timedelta(minutes=20)).isoformat(),
                "interests": [interest],
            }
        },
        staff,
    )
    return str(created["createExperience"]["experience"]["id"])


def _invite_all(api: Api, staff: str, experience_id: str, members: set[str]) -> None:
    """Issue until every one of ``members`` is invited (their contact preferences reach the
    loyalty service through identity's outbox, a moment after they were set)."""
    invited: set[str] = set()
    deadline = time.monotonic() + 30
    while invited != members:
        report = api.gql(
            "mutation($i: IssueInvitationsInput!) { issueInvitations(input: $i) { __typename "
            "... on InvitationsIssued { report { invitations { memberId } } } } }",
            {"i": {"experienceId": experience_id, "key": uuid.uuid4().hex}},
            staff,
        )
        invited |= {i["memberId"] for i in report["issueInvitations"]["report"]["invitations"]}
        assert time.monotonic() < deadline, f"not invited: {members - invited}"
        time.sleep(0.3)


def _accept(api: Api, member: str, name: str, experience_id: str, guests: int) -> Guest:
    mine = api.gql("{ me { invitations { id experience { id } } } }", {}, member)
    [invitation] = [i for i in mine["me"]["invitations"] if i["experience"]["id"] == experience_id]
    answered = api.gql(
        "mutation($i: RespondToInvitationInput!) { respondToInvitation(input: $i) { __typename "
        "... on InvitationAnswered { invitation { door { code token } } } } }",
        {
            "i": {
                "invitationId": invitation["id"],
                "answer": "ACCEPT",
                "guests": [{"name": f"Friend {n}"} for n in range(guests)],
            }
        },
        member,
    )
    door = answered["respondToInvitation"]["invitation"]["door"]
    return Guest(name, member, experience_id, guests, door["code"], door["token"])


@dataclass
class Evening:
    at_rivage: Guest  # checked in by typing the code
    at_lumiere: Guest  # the other venue's guest
    offline: Guest  # checked in from the queue
    camera: Guest  # checked in by the camera
    after_reload: Guest  # scanned on the page opened again without network


@pytest.fixture(scope="module")
def evening(newcomer: Served) -> Evening:
    api = Api(newcomer.url)
    rivage = api.token(RIVAGE.staff_email, RIVAGE.staff_password, "STAFF")
    lumiere = api.token(LUMIERE.staff_email, LUMIERE.staff_password, "STAFF")
    venues = {
        RIVAGE.name: _venue_of(rivage),
        LUMIERE.name: _venue_of(lumiere),
    }
    tag = uuid.uuid4().hex[:8]
    names = {
        "at_rivage": "Léa Fontaine",
        "offline": "Noé Garnier",
        "camera": "Zoé Perrin",
        "after_reload": "Maël Roussel",
        "at_lumiere": "Yann Morel",
    }
    members = {key: _member(api, name, f"door-{tag}") for key, name in names.items()}
    rivage_evening = _evening(api, rivage, venues[RIVAGE.name], f"door-{tag}")
    lumiere_evening = _evening(api, lumiere, venues[LUMIERE.name], f"door-{tag}-elsewhere")
    # the Lumière's guest shares the Lumière's evening's interest only
    api.gql(
        "mutation($i: UpdateContactPreferencesInput!) { updateContactPreferences(input: $i) "
        "{ preferences { interests } } }",
        {"i": {"interests": [f"door-{tag}-elsewhere"]}},
        members["at_lumiere"][0],
    )
    _invite_all(
        api, rivage, rivage_evening, {m[1] for k, m in members.items() if k != "at_lumiere"}
    )
    _invite_all(api, lumiere, lumiere_evening, {members["at_lumiere"][1]})
    guests = {"at_rivage": 1, "offline": 2, "camera": 0, "at_lumiere": 1, "after_reload": 1}
    accepted = {
        key: _accept(
            api,
            members[key][0],
            names[key],
            lumiere_evening if key == "at_lumiere" else rivage_evening,
            guests[key],
        )
        for key in names
    }
    return Evening(**accepted)


def _venue_of(staff: str) -> str:
    """The venue of a staff account, from its access token."""
    venues = jwt.decode(staff, options={"verify_signature": False})["venues"]
    assert len(venues) == 1
    return str(venues[0])


def _state(api: Api, guest: Guest) -> tuple[str, str | None]:
    mine = api.gql(
        "{ me { invitations { state checkedInAt experience { id } } } }", {}, guest.token
    )
    [found] = [i for i in mine["me"]["invitations"] if i["experience"]["id"] == guest.experience_id]
    return found["state"], found["checkedInAt"]


# ---- the browser ---------------------------------------------------------------------------


@dataclass
class Door:
    page: Any
    loopback: Loopback
    console: list[str]

    def shown(self, outcome: str) -> dict[str, str]:
        """The result panel once it shows ``outcome``: its colour and texts."""
        result = self.page.locator(f'#result[data-outcome="{outcome}"]')
        result.wait_for(timeout=15_000)
        return {
            "class": str(result.get_attribute("class")),
            "verdict": result.locator(".verdict").inner_text(),
            "who": result.locator(".who").inner_text(),
            "guests": result.locator(".guests").inner_text(),
            "detail": result.locator(".detail").inner_text(),
        }

    def type_code(self, code: str) -> None:
        self.page.locator("#result").evaluate("node => node.removeAttribute('data-outcome')")
        self.page.fill("#code", code)
        self.page.press("#code", "Enter")

    def uploads(self) -> int:
        return sum(1 for body in self.loopback.posted if "redeemInvitations" in body)

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations"))


@pytest.fixture
def door(newcomer: Served) -> Iterator[Door]:
    with launched() as browser:
        context = browser.new_context(**PHONE)
        context.grant_permissions(["camera"], origin=newcomer.url)
        loopback = Loopback()
        loopback.install(context)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.add_init_script(CSP_VIOLATIONS)
        response = page.goto(f"{newcomer.url}/door")
        assert response is not None and response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.fill("#email", RIVAGE.staff_email)
        page.fill("#password", RIVAGE.staff_password)
        page.click("#sign-in button[type=submit]")
        page.locator("#desk").wait_for(timeout=15_000)  # one venue: no choice to make
        assert page.locator("#venue-name").inner_text() == RIVAGE.name
        try:
            yield Door(page, loopback, console)
        finally:
            context.close()
        assert loopback.refused == []
        assert {urlsplit(url).netloc for url in loopback.requested} == {
            urlsplit(newcomer.url).netloc
        }
        assert [line for line in console if "error" in line.lower()] == []


def test_staff_check_members_in_on_a_phone_green_then_amber_and_red_for_another_venue(
    door: Door, evening: Evening, newcomer: Served
) -> None:
    api = Api(newcomer.url)
    guest = evening.at_rivage
    door.type_code(guest.code.lower().replace("-", " "))
    assert door.shown("CheckedIn") == {
        "class": "result green",
        "verdict": "Checked in",
        "who": guest.name,
        "guests": "+ 1 guest",
        "detail": "",
    }
    state, checked_in_at = _state(api, guest)
    assert state == "CHECKED_IN" and checked_in_at is not None
    at = datetime.fromisoformat(checked_in_at).astimezone().strftime("%H:%M")

    door.type_code(guest.code)
    assert door.shown("AlreadyCheckedIn") == {
        "class": "result amber",
        "verdict": "Already checked in",
        "who": guest.name,
        "guests": "+ 1 guest",
        "detail": f"At {at}, by you",
    }

    door.type_code(evening.at_lumiere.code)
    assert door.shown("WrongVenue") == {
        "class": "result red",
        "verdict": "Wrong venue",
        "who": "",
        "guests": "",
        "detail": "This invitation is for another venue.",
    }
    assert _state(api, evening.at_lumiere) == ("ACCEPTED", None)
    assert door.violations() == []


def test_without_network_a_pass_is_verified_in_the_browser_queued_and_uploaded_once_back_online(
    door: Door, evening: Evening, newcomer: Served
) -> None:
    api = Api(newcomer.url)
    guest = evening.offline
    keys = httpx.get(f"{newcomer.url}/door/keys.json", timeout=10).json()
    assert [k["kty"] for k in keys["keys"]] == ["OKP"]

    door.page.context.set_offline(True)
    assert door.page.locator("#network").inner_text() == "Offline"
    door.type_code(guest.door_token)
    assert door.shown("Provisional") == {
        "class": "result green provisional",
        "verdict": "Accepted offline",
        "who": "Member",
        "guests": "+ 2 guests",
        "detail": "Queued: confirmed when the network is back.",
    }
    assert door.page.locator("#queue").inner_text() == "1 scan waiting for the network"
    door.type_code(guest.door_token)  # shown twice at the door while offline
    assert door.shown("AlreadyCheckedIn")["class"] == "result amber"
    forged = guest.door_token[:-4] + ("AAAA" if not guest.door_token.endswith("AAAA") else "BBBB")
    door.type_code(forged)
    assert door.shown("BadPass") == {
        "class": "result red",
        "verdict": "Not a valid pass",
        "who": "",
        "guests": "",
        "detail": "",
    }
    door.type_code(evening.at_lumiere.door_token)
    assert door.shown("WrongVenue")["class"] == "result red"
    assert door.page.locator("#queue").inner_text() == "1 scan waiting for the network"
    assert _state(api, guest) == ("ACCEPTED", None)
    assert door.uploads() == 0

    door.page.context.set_offline(False)
    settled = door.page.locator('#settled li[data-outcome="CheckedIn"]')
    settled.wait_for(timeout=15_000)
    assert [settled.locator(".verdict").inner_text(), settled.locator(".who").inner_text()] == [
        "Checked in",
        guest.name,
    ]
    assert door.page.locator("#queue").is_hidden()
    assert door.page.locator("#network").inner_text() == "Online"
    state, _ = _state(api, guest)
    assert state == "CHECKED_IN"
    stored = json.loads(door.page.evaluate("localStorage.getItem('door.queue')"))
    assert stored == []

    door.page.context.set_offline(True)  # a second return of the network sends nothing again
    door.page.context.set_offline(False)
    door.page.wait_for_timeout(1000)
    assert door.uploads() == 1
    assert door.violations() == []


def test_the_page_opens_again_without_network_and_keeps_checking_passes(
    door: Door, evening: Evening, newcomer: Served
) -> None:
    api = Api(newcomer.url)
    guest = evening.after_reload
    assert door.page.evaluate("navigator.serviceWorker.ready.then(() => true)") is True
    door.page.context.set_offline(True)
    door.page.reload()
    door.page.locator("#desk").wait_for(timeout=15_000)
    assert door.page.locator("#network").inner_text() == "Offline"
    assert door.page.locator("#venue-name").inner_text() == RIVAGE.name
    door.type_code(guest.door_token)
    assert door.shown("Provisional")["guests"] == "+ 1 guest"
    assert door.page.locator("#queue").inner_text() == "1 scan waiting for the network"

    door.page.context.set_offline(False)
    door.page.locator('#settled li[data-outcome="CheckedIn"]').wait_for(timeout=15_000)
    assert _state(api, guest)[0] == "CHECKED_IN"
    assert door.uploads() == 1
    assert door.violations() == []


def _y4m(token: str, path: Path) -> Path:
    """A still video of the pass's QR code, as Chromium's fake camera plays it (YUV4MPEG2)."""
    width, height, scale, border = 960, 720, 6, 4
    matrix = [list(row) for row in segno.make(token, error="m").matrix]
    side = (len(matrix) + 2 * border) * scale
    assert side <= height, "the QR code does not fit the frame"
    left, top = (width - side) // 2, (height - side) // 2
    luma = bytearray([235]) * (width * height)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                y0 = top + (r + border) * scale
                x0 = left + (c + border) * scale
                for y in range(y0, y0 + scale):
                    luma[y * width + x0 : y * width + x0 + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame)
    return path


@pytest.fixture
def camera(evening: Evening, tmp_path: Path) -> Path:
    return _y4m(evening.camera.door_token, tmp_path / "pass.y4m")


def test_a_pass_shown_to_the_camera_checks_its_member_in(
    newcomer: Served, evening: Evening, camera: Path
) -> None:
    api = Api(newcomer.url)
    args = (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    )
    with launched(*args) as browser:
        context = browser.new_context(**PHONE)
        context.grant_permissions(["camera"], origin=newcomer.url)
        loopback = Loopback()
        loopback.install(context)
        page = context.new_page()
        page.add_init_script(CSP_VIOLATIONS)
        page.goto(f"{newcomer.url}/door")
        page.fill("#email", RIVAGE.staff_email)
        page.fill("#password", RIVAGE.staff_password)
        page.click("#sign-in button[type=submit]")
        page.locator("#desk").wait_for(timeout=15_000)
        page.click("#camera")
        door = Door(page, loopback, [])
        assert door.shown("CheckedIn") == {
            "class": "result green",
            "verdict": "Checked in",
            "who": evening.camera.name,
            "guests": "No guest",
            "detail": "",
        }
        assert door.violations() == []
        context.close()
    assert loopback.refused == []
    assert any(urlsplit(u).path == "/static/vendor/jsqr/jsQR.js" for u in loopback.requested)
    assert _state(api, evening.camera)[0] == "CHECKED_IN"


def test_staff_of_two_venues_choose_where_they_stand_first(
    evening: Evening, newcomer: Served
) -> None:
    api = Api(newcomer.url)
    admin = api.token(ADMIN_EMAIL, ADMIN_PASSWORD, "STAFF")
    email = f"both.{uuid.uuid4().hex[:8]}@example.org"
    venues = [
        _venue_of(api.token(v.staff_email, v.staff_password, "STAFF")) for v in (RIVAGE, LUMIERE)
    ]
    api.gql(
        "mutation($i: CreateStaffAccountInput!) { createStaffAccount(input: $i) { __typename } }",
        {"i": {"email": email, "password": PASSWORD, "venueIds": venues}},
        admin,
    )
    with launched() as browser:
        context = browser.new_context(**PHONE)
        loopback = Loopback()
        loopback.install(context)
        page = context.new_page()
        page.add_init_script(CSP_VIOLATIONS)
        page.goto(f"{newcomer.url}/door")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("#sign-in button[type=submit]")
        page.locator("#venues").wait_for(timeout=15_000)
        choices = page.locator("#venues button")
        assert sorted(choices.all_inner_texts()) == sorted([RIVAGE.name, LUMIERE.name])
        page.click(f'#venues button[data-venue="{venues[1]}"]')
        page.locator("#desk").wait_for(timeout=15_000)
        assert page.locator("#venue-name").inner_text() == LUMIERE.name
        door = Door(page, loopback, [])
        door.type_code(evening.at_lumiere.code)
        shown = door.shown("CheckedIn")
        assert (shown["class"], shown["who"], shown["guests"]) == (
            "result green",
            evening.at_lumiere.name,
            "+ 1 guest",
        )
        assert door.violations() == []
        context.close()
    assert loopback.refused == []
