"""Celery application; tasks run eagerly in development unless CELERY_TASK_ALWAYS_EAGER=false."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mlgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
