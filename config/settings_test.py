"""Test settings: the real PostgreSQL and Redis of the machine, eager Celery, fast password hashing."""

import os

os.environ.setdefault(
    "DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
MLFLOW_WEBHOOK_SECRET = "test-webhook-secret"  # noqa: S105 (tests only)
MLFLOW_WEBHOOK_PREVIOUS_SECRET = ""
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Concurrent test runs on one machine can each use their own database: TEST_DATABASE_NAME=test_mine.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_mlgov")}  # noqa: F405
# Serve static files through the finders: no collectstatic directory is needed in tests.
WHITENOISE_AUTOREFRESH = True
# Transactional tests empty every table with TRUNCATE between tests; the audit trail's TRUNCATE trigger lets this
# connection do it (governance migration 0008). Production connections never set this.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c mlgov.allow_audit_truncate=on"  # noqa: F405
