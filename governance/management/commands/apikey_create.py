"""`manage.py apikey_create --name ci --user ci-bot --scopes evaluate,promote`: print a new CI key once."""

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.services.apikeys import api_key_create


class Command(BaseCommand):
    help = "Create a scoped CI API key; the secret is printed once and only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--user", required=True, help="The (service) user the key acts as; created if missing."
        )
        parser.add_argument("--scopes", default="evaluate", help="Comma-separated: evaluate, promote.")
        parser.add_argument("--project", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        user, _ = User.objects.get_or_create(username=options["user"])
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            issued = api_key_create(
                name=options["name"], scopes=scopes, user=user, project=options["project"], actor="system:cli"
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"API key '{issued.api_key.name}' ({', '.join(issued.api_key.scopes)}) for {user}:")
        self.stdout.write(issued.secret)
        self.stderr.write("Store it now (e.g. as the CI secret MLGOV_API_KEY): it cannot be shown again.")
