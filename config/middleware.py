"""Request-wide middleware: input refusals that no view should have to repeat, and request timing."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.errors import MalformedRequest
from config.parsers import NUL_REFUSED


class RejectNulMiddleware:
    """Refuse a NUL character in the path or query string with a 400 before any view runs.

    PostgreSQL cannot hold NUL in text, so a model name like "a%00b" in a URL would otherwise fail inside the
    first query as a DataError (a 500). Bodies are covered by the JSON parser and the serializers' CharFields.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            raise MalformedRequest(NUL_REFUSED.format(where="the URL path"))
        query = request.META.get("QUERY_STRING", "")
        if query and ("%00" in query or "\x00" in query):
            raise MalformedRequest(NUL_REFUSED.format(where="the query string"))
        return self.get_response(request)


class ServerTimingMiddleware:
    """Every response carries `Server-Timing: app;dur=<ms>`: the time spent inside Django."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
