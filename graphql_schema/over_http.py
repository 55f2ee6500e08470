"""GraphQL over HTTP: the media types of the GraphQL over HTTP specification and their status
codes (https://graphql.github.io/graphql-over-http/, the 2025 draft).

- Responses come as ``application/graphql-response+json`` when the client's ``Accept`` header
  prefers it, otherwise as ``application/json`` (also with no ``Accept`` header, or ``*/*``). An
  ``Accept`` header that allows neither is answered ``406 Not Acceptable``.
- With ``application/graphql-response+json``, a request that fails before execution (the
  document does not parse or validate, the operation cannot be determined, the variables cannot
  be coerced) is answered ``400`` without a ``data`` entry; a request that was executed is ``200``,
  field errors or not.
- With ``application/json`` (legacy clients), every well-formed request is answered ``200`` with
  ``data`` (``null`` when nothing ran), as before.
- Whatever the media type: a body that is not JSON or not a GraphQL-over-HTTP request (``query``
  missing or not a string, ``variables`` or ``extensions`` not a map, ``operationName`` not a
  string) is ``400``; a POST body that is not ``application/json`` in UTF-8 is ``415``; a mutation
  sent with GET (or any operation, where GET is off) is ``405`` with ``Allow: POST``. These are
  answered in ``application/json``: no GraphQL response was produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
CHARSET = "charset=utf-8"

#: What the server can answer, in its order of preference when the client has none.
_ANSWERS = (JSON, GRAPHQL_RESPONSE_JSON)

METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


@dataclass(frozen=True)
class _Range:
    type: str
    subtype: str
    q: float
    position: int

    def specificity(self, media_type: str) -> int | None:
        """How precisely this range names ``media_type`` (2 exactly, 1 ``type/*``, 0 ``*/*``),
        or None if it does not match it."""
        kind, sub = media_type.split("/", 1)
        if (self.type, self.subtype) == (kind, sub):
            return 2
        if self.type == kind and self.subtype == "*":
            return 1
        if self.type == "*" and self.subtype == "*":
            return 0
        return None


def _ranges(accept: str) -> list[_Range]:
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        if media.count("/") != 1:
            continue
        kind, sub = (x.strip().lower() for x in media.split("/"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append(_Range(kind, sub, q, position))
    return ranges


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, given the request's ``Accept`` header; None when it allows
    none that the server can produce (then answer 406).

    Each media type takes the quality of the most specific range that names it; the highest
    quality wins, then the more specific range, then the one listed first; ``*/*`` alone means
    ``application/json``."""
    if accept is None or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    best: tuple[float, int, int, int] | None = None
    chosen = None
    for preference, media_type in enumerate(_ANSWERS):
        matching = [(s, r) for r in ranges if (s := r.specificity(media_type)) is not None]
        if not matching:
            continue
        # the most specific range that names the media type sets its quality
        specificity, decisive = max(matching, key=lambda m: (m[0], -m[1].position))
        if decisive.q == 0:
            continue
        score = (decisive.q, specificity, -decisive.position, -preference)
        if best is None or score > best:
            best, chosen = score, media_type
    return chosen


def is_json_body(content_type: str | None) -> bool:
    """Whether a POST body's ``Content-Type`` is ``application/json`` in UTF-8 (the charset may
    be left out: UTF-8 is then assumed)."""
    if not content_type:
        return False
    media, *params = (p.strip() for p in content_type.split(";"))
    if media.lower() != JSON:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


def with_charset(media_type: str) -> str:
    return f"{media_type}; {CHARSET}"


def error_body(message: str, code: str) -> dict[str, Any]:
    """A GraphQL-shaped body for a request refused before GraphQL saw it."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
