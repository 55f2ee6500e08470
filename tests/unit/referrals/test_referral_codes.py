"""Referral codes by worked examples: made from a random value, typed back in any spelling,
mistyped characters caught by the check character, shared as a link."""

from __future__ import annotations

import pytest

from services.loyalty.referrals import codes
from services.loyalty.referrals.codes import CodeProblem, InvalidCode, ReferralCode


def test_the_alphabet_has_31_characters_and_none_of_the_look_alikes() -> None:
    assert len(codes.ALPHABET) == codes.BASE == 31
    assert not set("01OIL") & set(codes.ALPHABET)
    assert codes.CODE_SPACE == 27_512_614_111


def test_a_random_value_gives_eight_characters_shown_in_two_groups_of_four() -> None:
    code = codes.code_from_random(987_654_321)
    assert code == ReferralCode("35HFT2UJ")
    assert (code.display, str(code)) == ("35HF-T2UJ", "35HF-T2UJ")


def test_the_smallest_and_the_largest_values_give_the_first_and_last_codes() -> None:
    assert codes.code_from_random(0).display == "2222-2222"
    assert codes.code_from_random(1).display == "2222-223S"
    assert codes.code_from_random(codes.CODE_SPACE - 1).display == "ZZZZ-ZZZ6"


@pytest.mark.parametrize("value", [-1, codes.CODE_SPACE])
def test_a_value_outside_the_code_space_is_refused(value: int) -> None:
    with pytest.raises(ValueError) as refused:
        codes.code_from_random(value)
    assert str(refused.value) == f"value must be in range(CODE_SPACE), got {value}"


def test_the_check_character_completes_the_weighted_sum_to_a_multiple_of_31() -> None:
    assert codes.check_character("K7QM4XR") == "F"
    values = [codes.ALPHABET.index(c) for c in "K7QM4XRF"]
    assert sum(w * v for w, v in zip(codes.WEIGHTS, values, strict=True)) % 31 == 0


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-4XRF",
        "k7qm-4xrf",
        "  K7QM 4XRF\n",
        "K7QM\u20114XRF",  # a non-breaking hyphen, as some apps paste it
        "K7QM\u20134XRF",  # an en dash
        "K7QM.4XRF",
        "K7QM_4XRF",
        "\uff2b\uff17\uff31\uff2d\uff14\uff38\uff32\uff26",  # full-width letters and digits
        "https://example.org/join?ref=K7QM-4XRF",
        "http://localhost:8000/join?ref=K7QM-4XRF",
        "HTTPS://example.org/join?utm_source=sms&ref=k7qm4xrf#top",
    ],
)
def test_every_way_of_typing_or_sharing_a_code_gives_the_same_code(typed: str) -> None:
    assert codes.normalise(typed) == "K7QM4XRF"
    assert codes.parse(typed) == ReferralCode("K7QM4XRF")


def test_a_link_without_a_code_is_not_a_code() -> None:
    assert codes.normalise("https://example.org/join?utm_source=sms") == ""
    assert codes.parse("https://example.org/join") == InvalidCode(CodeProblem.WRONG_LENGTH)


def test_only_an_http_link_with_a_host_is_read_as_a_link() -> None:
    assert codes.normalise("mailto:K7QM-4XRF") == "MAILTO:K7QM4XRF"
    assert codes.normalise("http:K7QM-4XRF") == "HTTP:K7QM4XRF"
    assert codes.normalise("ftp://example.org/?ref=K7QM-4XRF") == "FTP://EXAMPLEORG/?REF=K7QM4XRF"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("K7QM-4XR", CodeProblem.WRONG_LENGTH),
        ("K7QM-4XRFF", CodeProblem.WRONG_LENGTH),
        ("", CodeProblem.WRONG_LENGTH),
        ("K7QM-4XR0", CodeProblem.UNKNOWN_CHARACTER),  # zero is not in the alphabet
        ("K7QM-4XRO", CodeProblem.UNKNOWN_CHARACTER),  # nor is the letter O
        ("K7QM-4XRE", CodeProblem.CHECK_FAILED),  # last character mistyped
        ("K7QN-4XRF", CodeProblem.CHECK_FAILED),  # a payload character mistyped
        ("7KQM-4XRF", CodeProblem.CHECK_FAILED),  # two neighbours swapped
        ("K7QM-X4RF", CodeProblem.CHECK_FAILED),  # two neighbours swapped across the dash
        ("K7QF-4XRM", CodeProblem.CHECK_FAILED),  # two distant characters swapped
    ],
)
def test_a_mistyped_code_is_reported_with_its_problem(typed: str, problem: CodeProblem) -> None:
    assert codes.parse(typed) == InvalidCode(problem)


def test_the_problems_have_stable_codes() -> None:
    assert [p.value for p in CodeProblem] == [
        "CODE_WRONG_LENGTH",
        "CODE_UNKNOWN_CHARACTER",
        "CODE_CHECK_FAILED",
    ]


def test_a_code_cannot_be_built_from_an_invalid_value() -> None:
    with pytest.raises(ValueError) as refused:
        ReferralCode("K7QM4XRE")
    assert str(refused.value) == "not a referral code: 'K7QM4XRE' (CODE_CHECK_FAILED)"
    with pytest.raises(ValueError) as refused:
        ReferralCode("K7QM-4XRF")  # the display form is not the canonical value
    assert str(refused.value) == "not a referral code: 'K7QM-4XRF' (CODE_WRONG_LENGTH)"


def test_a_share_link_adds_the_code_to_the_base_url() -> None:
    code = ReferralCode("K7QM4XRF")
    assert codes.share_link("https://example.org/join", code) == (
        "https://example.org/join?ref=K7QM-4XRF"
    )
    assert codes.share_link("https://example.org", code) == "https://example.org/?ref=K7QM-4XRF"
    assert codes.share_link("http://localhost:8000/join", code) == (
        "http://localhost:8000/join?ref=K7QM-4XRF"
    )


def test_a_share_link_keeps_the_base_urls_query_and_fragment_and_replaces_an_old_code() -> None:
    code = ReferralCode("K7QM4XRF")
    link = codes.share_link("https://example.org/j?utm_source=app&ref=old&x=#welcome", code)
    assert link == "https://example.org/j?utm_source=app&x=&ref=K7QM-4XRF#welcome"
    assert codes.parse(link) == code


@pytest.mark.parametrize("base", ["example.org/join", "ftp://example.org/join", "https:///join"])
def test_a_share_link_needs_an_http_base_url_with_a_host(base: str) -> None:
    with pytest.raises(ValueError) as refused:
        codes.share_link(base, ReferralCode("K7QM4XRF"))
    assert str(refused.value) == (
        f"a share link needs an http(s) base URL with a host, got {base!r}"
    )
