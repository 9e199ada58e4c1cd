from django.apps import AppConfig


class RegistrySyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registry_sync"
    verbose_name = "Registry Sync"
