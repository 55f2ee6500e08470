"""Every column of both services' schemas, classified: what is personal data about a member,
and where the tests find a member's rows.

``test_personal_columns`` checks this against the live database's ``information_schema``, so a
column a migration adds is a failing test until it is classified here; the privacy scenario
then checks that each personal column's values for a member who used every feature are in
their export, and that erasure leaves none of them.
"""

from __future__ import annotations

#: About the person (what they told us, or what identifies them): in their export, and gone
#: after their erasure.
PERSONAL = "personal"
#: Personal data kept only to recognise or protect the person, never shown back (keyed hashes
#: of identifiers, a password's hash, a failed-login counter named by the email, an
#: idempotency claim's keyed hash): gone after their erasure.
WITHHELD = "withheld"
#: The member's record under the bare id (points, states, times, ids): in their export where
#: it tells them something, and kept after erasure so the ledger stays whole.
RECORD = "record"
#: Not about a member: the programme, organisations, staff, partners, keys, plumbing.
NOT_PERSONAL = "not personal"

_P, _W, _R, _N = PERSONAL, WITHHELD, RECORD, NOT_PERSONAL


def _all(kind: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), kind)


COLUMNS: dict[str, dict[str, str]] = {
    # ---- identity ----------------------------------------------------------------------------
    "identity.members": {
        **_all(_R, "id status merged_into created_at erased_at"),
        **_all(_P, "display_name locale birth_date"),
        "password_hash": _W,
    },
    "identity.identifiers": {
        **_all(_R, "id member_id kind verified linked_at"),
        "value": _P,
    },
    "identity.identifier_verifications": {
        **_all(_R, "id member_id kind expires_at attempts last_sent_at sends sends_since"),
        **_all(_R, "code_in_outbox created_at"),
        "value": _P,
        **_all(_N, "salt code_hash"),  # a random salt, the digest of a random code
    },
    "identity.consents": {
        **_all(_R, "id member_id"),
        **_all(_P, "channel granted at source"),
    },
    "identity.preferences": {
        **_all(_R, "member_id updated_at"),
        **_all(_P, "invitation_cap_per_30_days quiet_start quiet_end quiet_timezone interests"),
    },
    "identity.merges": _all(_R, "id survivor_id absorbed_id reason actor at identifiers_moved"),
    "identity.outbox": {
        **_all(_R, "id event_id type occurred_at delivered_at attempts last_error"),
        "payload": _P,
    },
    "identity.audit_log": _all(_R, "id at actor action subject details"),
    "identity.idempotency": {
        **_all(_R, "scope key created_at"),
        **_all(_W, "request_hash response"),
    },
    "identity.login_throttle": {"key": _W, **_all(_R, "failures since")},
    "identity.refresh_tokens": {
        **_all(_R, "id family_id subject_kind subject_id issued_at expires_at used_at"),
        **_all(_R, "revoked_at replaced_by"),
        "token_hash": _N,  # the digest of a random secret
    },
    # a member's, a session's or an API key's id, and when: no one's personal data
    "identity.revocations": _all(_R, "id kind subject revoked_at expires_at"),
    "identity.accounts": _all(_N, "id email password_hash role display_name created_at"),
    "identity.account_venues": _all(_N, "account_id venue_id"),
    "identity.venues": _all(_N, "id name timezone external_id created_at"),
    "identity.partners": _all(_N, "id name kind external_id created_at"),
    "identity.api_keys": _all(
        _N,
        "id partner_id label prefix secret_hash idempotency_key created_at revoked_at "
        "allowed_triggers allowed_venue_ids may_register_referrals scope_updated_at",
    ),
    "identity.signing_keys": _all(_N, "kid private_key_sealed public_jwk created_at active"),
    "identity.identifier_keys": _all(_N, "id key created_at"),
    # ---- loyalty -----------------------------------------------------------------------------
    "loyalty.inbox": {**_all(_R, "event_id type occurred_at received_at"), "payload": _P},
    "loyalty.members": _all(_R, "member_id merged_into created_at version erased_at"),
    "loyalty.accounts": _all(_R, "id member_id kind balance"),
    "loyalty.journal_entries": _all(
        _R,
        "id seq kind source external_id member_id points occurred_at recorded_at actor "
        "rule_version reverses_entry_id event explanation request_hash production_id",
    ),
    "loyalty.postings": _all(_R, "id entry_id account_id delta"),
    "loyalty.award_lines": _all(
        _R,
        "entry_id line_no member_id rule_key rule_version points occurred_at local_day "
        "counts_for_status",
    ),
    "loyalty.lots": _all(
        _R, "id member_id entry_id points remaining earned_at available_at released expires_at"
    ),
    "loyalty.redemptions": _all(_R, "id entry_id member_id reward_id voucher_code cost created_at"),
    "loyalty.member_contacts": {
        **_all(_R, "member_id as_of event_id erased merged_into"),
        **_all(_P, "consents invitation_cap quiet_start quiet_end quiet_timezone interests locale"),
    },
    "loyalty.invitations": {
        **_all(
            _R,
            "id experience_id member_id issuance_id position channel deliver_after why code "
            "state offered_at guests accepted_at queued_at closed_at checked_in_at "
            "checked_in_by guests_checked_in earn_entry_id earn_points rating rated_at",
        ),
        "comment": _P,
    },
    "loyalty.invitation_guests": {
        **_all(_R, "invitation_id position"),
        **_all(_P, "name email phone"),
    },
    "loyalty.guest_referral_intents": _all(
        _R, "invitation_id position member_id accepted_at attempts next_attempt_at"
    ),
    "loyalty.suppressions": _all(_R, "issuance_id member_id experience_id position reasons"),
    "loyalty.door_scans": _all(
        _R,
        "id recorded_at scanned_at staff_id venue_id device_id scan_id method invitation_id "
        "outcome answer",
    ),
    "loyalty.referral_codes": _all(_R, "member_id code created_at"),
    "loyalty.referrals": {
        **_all(
            _R,
            "id referrer_id code channel partner_id reference consent_method consent_given_at "
            "registered_at holds_until request_hash actor terms status current_referrer_id "
            "referee_id joined_at converted_at voided_at",
        ),
        **_all(_W, "referee_email_hash referee_phone_hash"),
    },
    "loyalty.referral_events": {
        **_all(_R, "seq referral_id kind received_at"),
        **_all(_W, "key payload"),
    },
    "loyalty.referral_parties": _all(_R, "member_id referral_id"),
    "loyalty.referral_effects": _all(
        _R, "id referral_id kind payload created_at claimed_until attempts last_error done_at"
    ),
    "loyalty.referral_rejections": _all(
        _N, "id channel partner_id reference referrer_id reason at"
    ),
    "loyalty.outbox": _all(_R, "id event_id type payload occurred_at deliver_after delivered_at"),
    "loyalty.rule_sets": _all(
        _N, "version document effective_at published_at published_by changes idempotency_key"
    ),
    "loyalty.rewards": _all(
        _N,
        "id key title_en title_fr description_en description_fr cost stock min_tier active "
        "created_at per_member_limit valid_from valid_until retired_at request_hash",
    ),
    "loyalty.experiences": _all(
        _N,
        "id key request_hash venue_id title_en title_fr description_en description_fr "
        "starts_at ends_at seats guest_allowance production_id production_title eligibility "
        "invitations_open_at invitations_close_at purpose interests door_opens_before_s "
        "door_closes_after_s seats_taken waitlisted cancelled_at cancel_reason created_at "
        "created_by updated_at",
    ),
    "loyalty.issuances": _all(
        _N, "id experience_id key request_hash seed report issued_by issued_at"
    ),
    "loyalty.door_keys": _all(_N, "kid private_key_sealed public_jwk active created_at"),
    "loyalty.door_throttle": _all(_N, "staff_id window_started_at failures"),
    "loyalty.partner_webhooks": _all(
        _N,
        "partner_id url secret previous_secret previous_valid_until loopback_http_allowed "
        "created_at updated_at updated_by",
    ),
    "loyalty.webhook_deliveries": _all(
        _N,
        "id partner_id message_id event_type referral_id body created_at status attempts "
        "first_attempt_at next_attempt_at last_attempt_at last_status_code last_error "
        "delivered_at gave_up_at give_up_reason",
    ),
    "loyalty.webhook_attempts": _all(
        _N, "id delivery_id attempted_at url status_code error duration_ms"
    ),
}

#: Where a member's rows are, for each table with a personal column (``:ids``: the member's
#: ids as text, theirs and those merged into them).
MEMBER_ROWS: dict[str, str] = {
    "identity.members": "id::text = ANY(:ids)",
    "identity.identifiers": "member_id::text = ANY(:ids)",
    "identity.identifier_verifications": "member_id::text = ANY(:ids)",
    "identity.consents": "member_id::text = ANY(:ids)",
    "identity.preferences": "member_id::text = ANY(:ids)",
    "identity.outbox": "payload->>'member_id' = ANY(:ids)",
    "loyalty.inbox": "payload->>'member_id' = ANY(:ids)",
    "loyalty.member_contacts": "member_id::text = ANY(:ids)",
    "loyalty.invitations": "member_id::text = ANY(:ids)",
    "loyalty.invitation_guests": (
        "invitation_id IN (SELECT id FROM loyalty.invitations WHERE member_id::text = ANY(:ids))"
    ),
}

#: The tables that hold no rows of their own (the migrations' version tables).
IGNORED_TABLES = frozenset({"identity.alembic_version", "loyalty.alembic_version"})


def personal_columns() -> list[tuple[str, str]]:
    return sorted(
        (table, column)
        for table, columns in COLUMNS.items()
        for column, kind in columns.items()
        if kind == PERSONAL
    )
