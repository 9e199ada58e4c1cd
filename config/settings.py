"""Settings for mlgov, read from environment variables in this one place.

Development defaults are safe and self-contained (SQLite, eager Celery, embedded Rego engine); with
MLGOV_ENV=production the process refuses to start without SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


MLGOV_ENV = env_str("MLGOV_ENV", "development")
if MLGOV_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("MLGOV_ENV must be 'development' or 'production'")
PRODUCTION = MLGOV_ENV == "production"

if PRODUCTION:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(
            f"Production settings need these environment variables: {', '.join(missing)}"
        )

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-for-any-shared-deployment-0123456789")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")  # previous keys stay valid while rotating
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "governance",
    "registry_sync",
    "policies",
    "assessments",
    "reports",
]

# SSO (OIDC), off by default: docs/operations.md "SSO (OIDC)".
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
if OIDC_ENABLED:
    INSTALLED_APPS += ["mozilla_django_oidc"]
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "config.auth_oidc.RoleMappingOIDCBackend",
    ]
    OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT") or None
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
    OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM", "groups")
    try:
        OIDC_ROLE_MAP = json.loads(env_str("OIDC_ROLE_MAP", "{}"))
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"OIDC_ROLE_MAP is not valid JSON: {exc}") from exc
    if not isinstance(OIDC_ROLE_MAP, dict):
        raise ImproperlyConfigured("OIDC_ROLE_MAP must be a JSON object: IdP group -> role or list of roles.")
    missing_oidc = [
        name
        for name in (
            "OIDC_RP_CLIENT_ID",
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
        )
        if not os.environ.get(name)
    ]
    if missing_oidc:
        raise ImproperlyConfigured(
            f"OIDC_ENABLED needs these environment variables: {', '.join(missing_oidc)}"
        )

MIDDLEWARE = [
    "config.observability.RequestIdMiddleware",
    "config.middleware.ServerTimingMiddleware",
    "config.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATA_DIR = Path(env_str("MLGOV_DATA_DIR", str(BASE_DIR / ".data")))
if not os.environ.get("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'mlgov.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DATABASE_SERVER_SIDE_BINDING", True):
    # Server-side parameter binding, and psycopg prepares a statement after its 5th run on a connection, so PostgreSQL
    # stops re-planning the gate's and the API's repeated queries (Django leaves preparing off unless asked: the
    # gate's read planned in 0.8 ms and ran in 0.1 ms). Turn it off behind a pooler that cannot keep prepared
    # statements (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "governance:model-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if env_bool("CACHE_USE_REDIS", PRODUCTION)
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: eager in development so `make demo` needs no worker; a Redis broker in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not PRODUCTION)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
SYNC_INCREMENTAL_INTERVAL_SECONDS = env_float("SYNC_INCREMENTAL_INTERVAL_SECONDS", 300.0)
SYNC_FULL_INTERVAL_SECONDS = env_float("SYNC_FULL_INTERVAL_SECONDS", 3600.0)
CELERY_BEAT_SCHEDULE = {
    "registry-incremental-sync": {
        "task": "registry_sync.tasks.sync_registry_incremental",
        "schedule": SYNC_INCREMENTAL_INTERVAL_SECONDS,
    },
    "registry-full-reconciliation": {
        "task": "registry_sync.tasks.sync_registry_full",
        "schedule": SYNC_FULL_INTERVAL_SECONDS,
    },
    # The previous month's executive report, on the 1st at 03:00 UTC.
    "reports-monthly": {
        "task": "reports.tasks.monthly_report_generate",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
}

# MLflow registry mirror.
MLFLOW_TRACKING_URI = env_str("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
MLFLOW_WEBHOOK_SECRET = env_str("MLFLOW_WEBHOOK_SECRET", "" if PRODUCTION else "dev-webhook-secret")
MLFLOW_WEBHOOK_PREVIOUS_SECRET = env_str("MLFLOW_WEBHOOK_PREVIOUS_SECRET", "")
MLFLOW_WEBHOOK_MAX_AGE_SECONDS = env_int("MLFLOW_WEBHOOK_MAX_AGE_SECONDS", 300)
SYNC_PAGE_SIZE = env_int("SYNC_PAGE_SIZE", 1000)
# A pass still "running" after this long was cut off (worker killed, database connection lost before it could
# record its failure); the next pass marks it failed.
SYNC_RUN_ABANDONED_AFTER_SECONDS = env_float("SYNC_RUN_ABANDONED_AFTER_SECONDS", 7200.0)
# The MLflow client retries failed HTTP calls itself; keep that short so a pass fails fast and
# Celery's own retry (with backoff and jitter) takes over.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", env_str("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"))
os.environ.setdefault(
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", env_str("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
)
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", env_str("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"))

# Policy engine.
POLICY_ENGINE = env_str("POLICY_ENGINE", "embedded")
if POLICY_ENGINE not in {"embedded", "opa"}:
    raise ImproperlyConfigured("POLICY_ENGINE must be 'embedded' or 'opa'")
OPA_URL = env_str("OPA_URL", "http://127.0.0.1:8181")
POLICY_TIMEOUT_SECONDS = env_float("POLICY_TIMEOUT_SECONDS", 2.0)

# Approval gate.
GATE_SIGNING_KEY = env_str("GATE_SIGNING_KEY", "")  # PEM of an Ed25519 private key; required in production
GATE_SIGNING_KEY_FILE = Path(env_str("GATE_SIGNING_KEY_FILE", str(DATA_DIR / "gate-signing-key.pem")))
GATE_MIRROR_MAX_AGE_SECONDS = env_int("GATE_MIRROR_MAX_AGE_SECONDS", 60)
GATE_DECISION_TTL_SECONDS = env_int("GATE_DECISION_TTL_SECONDS", 3600)
PROMOTION_ALIASES = {
    "production": env_str("GATE_PRODUCTION_ALIAS", "champion"),
    "staging": env_str("GATE_STAGING_ALIAS", "challenger"),
}

# Reports.
REPORTS_ALERTMANAGER_TOKEN = env_str(
    "REPORTS_ALERTMANAGER_TOKEN", "" if PRODUCTION else "dev-alertmanager-token"
)
REPORTS_ORGANISATION = env_str("REPORTS_ORGANISATION", "mlgov")
REPORTS_SUBSCRIBERS = env_list("REPORTS_SUBSCRIBERS")

# Evidence uploads.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mlgov@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "gate": env_str("GATE_RATE_LIMIT", "1200/min"),
        "login": env_str("LOGIN_RATE_LIMIT", "20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mlgov API",
    "DESCRIPTION": "MLOps governance platform: registry inventory, approval gates, audit lineage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets are served from the vendored sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ApprovalStateEnum": "governance.models.ApprovalState",
        "MirrorStateEnum": "registry_sync.models.MirrorState",
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# JSON lines in production (ship them as they are); readable lines in development. Both carry request ids.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and MLflow's webhook calls come from inside the network; TLS is the proxy's job there.
    SECURE_REDIRECT_EXEMPT = [
        r"^healthz$",
        r"^readyz$",
        r"^api/v1/registry/webhooks/",
        r"^api/v1/incidents/alertmanager$",
    ]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
