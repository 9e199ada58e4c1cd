"""Request body parsers for the API (DEFAULT_PARSER_CLASSES): JSON with the refusals every endpoint needs."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_REFUSED = "NUL characters (\\u0000) are not accepted in {where}: the database cannot store them."
MAX_DEPTH = 32  # the deepest body any endpoint takes is 4 levels


class _TooDeep(Exception):
    pass


def _holds_nul(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item, depth + 1) for item in value)
    return False


class StrictJSONParser(JSONParser):
    """DRF's strict JSON parser, and two more refusals as 400s instead of later 500s:
    - strings (keys or values) holding "\\u0000": neither PostgreSQL text nor jsonb can store the character;
    - nesting deeper than MAX_DEPTH: no endpoint needs it, and Python's decoder fails on a few thousand levels
      with a RecursionError (not a ValueError, so DRF would not turn it into a 400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not accepted.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        try:
            holds_nul = _holds_nul(data)
        except _TooDeep:
            raise too_deep from None
        if holds_nul:
            raise ParseError(NUL_REFUSED.format(where="JSON strings"))
        return data
