"""Login with a rate limit: after LOGIN_RATE_LIMIT failed attempts per client address or username within a
minute, further attempts get 429 until the window passes (guards against password guessing)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

WINDOW_SECONDS = 60


def _limit() -> int:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # e.g. {"login": "20/min"}
    assert isinstance(rates, dict)
    return int(str(rates["login"]).split("/")[0])


def _keys(request: HttpRequest) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    return [f"login-failures:addr:{address}", *([f"login-failures:user:{username}"] if username else [])]


class RateLimitedLoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        keys = _keys(request)
        if any(int(cache.get(key, 0)) >= _limit() for key in keys):
            response = HttpResponse(
                "Too many failed logins. Wait a minute and try again.", status=429, content_type="text/plain"
            )
            response["Retry-After"] = str(WINDOW_SECONDS)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code != 302:  # the form was re-shown: the credentials were wrong
            for key in keys:
                cache.add(key, 0, WINDOW_SECONDS)
                cache.incr(key)
        return response
