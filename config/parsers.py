"""Request body parsers for the API (DEFAULT_PARSER_CLASSES): JSON with the one refusal every endpoint needs."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_REFUSED = "NUL characters (\\u0000) are not accepted in {where}: the database cannot store them."


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class NulRejectingJSONParser(JSONParser):
    """JSON bodies whose strings (keys or values) hold "\\u0000" are malformed for us: neither PostgreSQL text
    nor jsonb can store the character, so refusing it here keeps every endpoint from failing later with a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _holds_nul(data):
            raise ParseError(NUL_REFUSED.format(where="JSON strings"))
        return data
