"""Login with a rate limit: after LOGIN_RATE_LIMIT failed attempts per client address or username within its
window (e.g. 20/min), further attempts get 429 until the window passes (guards against password guessing)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from config.throttling import rate_parse


def _rate() -> tuple[int, int]:
    """(failed attempts allowed, window in seconds), parsed like the API's rate limits."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # e.g. {"login": "20/min"}
    assert isinstance(rates, dict)
    return rate_parse(str(rates["login"]))


def _keys(request: HttpRequest) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    return [f"login-failures:addr:{address}", *([f"login-failures:user:{username}"] if username else [])]


class RateLimitedLoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        keys = _keys(request)
        limit, window = _rate()
        if any(int(cache.get(key, 0)) >= limit for key in keys):
            response = HttpResponse(
                f"Too many failed logins. Wait {window} seconds and try again.",
                status=429,
                content_type="text/plain",
            )
            response["Retry-After"] = str(window)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code != 302:  # the form was re-shown: the credentials were wrong
            for key in keys:
                cache.add(key, 0, window)
                cache.incr(key)
        return response
