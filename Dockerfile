# syntax=docker/dockerfile:1
# mlgov image: one image for every role (web, Celery worker, Celery beat, one-shot migrate).
# The compose file picks the role with `command:`; the default is the gunicorn web server.
#
#   docker build -t mlgov .
#   docker run --env-file .env -p 8000:8000 mlgov        (needs PostgreSQL, Redis, OPA, MLflow)
#
# Pin the base by digest for reproducible builds: --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build stage: the locked virtualenv
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

# Only the lock file first, so the dependency layer is rebuilt only when the lock changes.
COPY requirements/base.lock /tmp/base.lock
# Hash-checking mode: every distribution must match a hash in the lock, and --no-deps means nothing
# outside the (fully resolved) lock is installed. pip compiles .pyc files at install time.
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/base.lock \
    && /opt/venv/bin/pip check

# ---------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    MLGOV_ENV=production

# WeasyPrint needs Pango and fonts; Plotly's chart export (kaleido) drives Chromium.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz0b \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid so that volume permissions are predictable.
RUN groupadd --system --gid 10001 mlgov \
    && useradd --system --uid 10001 --gid mlgov --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin mlgov

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The project runs from its source tree (manage.py, config.wsgi, `celery -A config`); the code stays
# owned by root, so the running process cannot modify it. .dockerignore keeps .env, .venv, .data,
# .git, tests and caches out of the build context.
COPY . /app

# Static files are collected at build time (whitenoise serves them with a hashed manifest). Production
# settings refuse to import without SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL: these dummy values
# exist only for this RUN step and are not part of the image's environment. The SQLite URL is never
# opened. The source is byte-compiled here because PYTHONDONTWRITEBYTECODE stops it at run time.
RUN SECRET_KEY=build-only-collectstatic-key-never-used-at-runtime-0123456789abcdef \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=sqlite:////tmp/build-only-unused.sqlite3 \
    python manage.py collectstatic --noinput \
    && python -m compileall -q /app \
    && install -d -o mlgov -g mlgov /app/.data/media

USER mlgov:mlgov

EXPOSE 8000

# Liveness probe without curl: the stdlib only. ALLOWED_HOSTS must accept 127.0.0.1 (compose adds it).
# Each gunicorn worker imports the URLconf (and with it MLflow) when it starts (config/wsgi.py), ~5 s: hence
# the generous start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=9).status == 200 else 1)"]

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
