"""`manage.py apikey_revoke PREFIX`: revoke a CI key by the prefix shown in its secret (mlg_<prefix>_...)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import ApiKey
from governance.services.apikeys import api_key_revoke


class Command(BaseCommand):
    help = "Revoke a CI API key by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        key = ApiKey.objects.filter(prefix=options["prefix"]).first()
        if key is None:
            raise CommandError(f"no API key with prefix {options['prefix']}")
        api_key_revoke(api_key=key, actor="system:cli")
        self.stdout.write(f"revoked {key} at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
