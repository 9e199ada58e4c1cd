"""`manage.py audit_verify`: walk the hash chain of the audit trail and report the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.services.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain end to end."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(
                f"audit chain broken at event #{result.first_broken_sequence}: {result.problem} "
                f"({result.events_checked} events verified before it)"
            )
        self.stdout.write(f"audit chain intact: {result.events_checked} events verified")
