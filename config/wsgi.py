"""WSGI entrypoint for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Import the URLconf, every view and MLflow with them, now: a worker (or, with --preload, the master before it
# forks) pays the seconds at start-up instead of on its first request, which otherwise stalls behind it.
get_resolver().url_patterns  # noqa: B018
