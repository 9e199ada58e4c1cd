"""User provisioning: accounts and their role groups (used by the demo and by operators)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from governance.services.audit import audit_event_record


@transaction.atomic
def user_with_roles_ensure(
    *, username: str, roles: list[str], password: str, email: str = "", superuser: bool = False
) -> tuple[User, bool]:
    """Create the user if missing and make sure it holds the given role groups (audited when created)."""
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        user.set_password(password)
        user.is_staff = user.is_superuser = superuser
        user.save()
    granted = sorted(set(roles) - set(user.groups.values_list("name", flat=True)))
    if granted:
        user.groups.add(*Group.objects.filter(name__in=granted))
    if created or granted:
        audit_event_record(
            action="auth.user_roles_granted",
            actor="system:provisioning",
            target=user,
            data={"created": created, "roles": granted},
        )
    return user, created
