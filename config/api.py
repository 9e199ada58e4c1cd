"""Small helpers shared by the apps' DRF views."""

from django.contrib.auth.models import User
from rest_framework.request import Request


def request_user(request: Request) -> User:
    """The authenticated user of a view whose permission classes already require one."""
    assert isinstance(request.user, User)
    return request.user
