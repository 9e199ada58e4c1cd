"""RACI entries that name a group: the database takes a person or a group, never both, and a member of a
Responsible group is Responsible for separation of duties."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from governance import roles
from governance.models import AuditEvent, RaciAssignment
from governance.services.gate import GateError
from governance.services.records import raci_assign, signoff_record
from tests.factories import UserFactory
from tests.gate.test_gate_api import governed_version

pytestmark = pytest.mark.django_db


def member(username: str, *group_names: str) -> User:
    user = UserFactory.create(username=username)
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in group_names))
    return user


def test_the_database_refuses_an_entry_with_both_or_neither() -> None:
    model = governed_version(tier="minimal", signoffs=[]).registered_model
    team = Group.objects.create(name="risk-team")
    for assignee in ({"user": member("ann"), "group": team}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RaciAssignment.objects.create(registered_model=model, role="consulted", **assignee)
    RaciAssignment.objects.create(registered_model=model, role="consulted", group=team)
    with pytest.raises(IntegrityError), transaction.atomic():
        RaciAssignment.objects.create(registered_model=model, role="consulted", group=team)


def test_assigning_a_group_is_audited_with_its_name() -> None:
    model = governed_version(tier="minimal", signoffs=[]).registered_model
    team = Group.objects.create(name="risk-team")
    assignment = raci_assign(registered_model=model, role="accountable", group=team, actor="test")
    assert assignment.group == team and assignment.user is None
    event = AuditEvent.objects.filter(action="governance.raci_assigned").latest("pk")
    assert event.data == {"role": "accountable", "group": "risk-team"}
    with pytest.raises(GateError) as both:
        raci_assign(registered_model=model, role="informed", user=member("ann"), group=team, actor="test")
    assert both.value.code == "RACI_ASSIGNEE_INVALID"


def test_a_validator_in_the_responsible_group_cannot_sign_off_as_validator() -> None:
    version = governed_version(tier="minimal", signoffs=[])
    validator = member("val", roles.VALIDATOR, "ml-team")
    RaciAssignment.objects.create(
        registered_model=version.registered_model, role="responsible", group=Group.objects.get(name="ml-team")
    )
    with pytest.raises(GateError) as refused:
        signoff_record(model_version=version, target="production", role="validator", user=validator)
    assert refused.value.code == "SEPARATION_OF_DUTIES"

    outsider = member("vic", roles.VALIDATOR)
    signoff = signoff_record(model_version=version, target="production", role="validator", user=outsider)
    assert signoff.valid
