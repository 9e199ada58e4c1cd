"""Business outcome entry page: login and writer role required, the form records through the service (with
source and owner, audited), shows validation errors, and is linked from the dashboard."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from governance.models import AuditEvent
from reports.models import BusinessOutcome
from tests.factories import RegisteredModelFactory, UserFactory

URL = "/reports/outcomes/new/"


@pytest.fixture
def owner_client(db) -> Client:
    user = UserFactory.create(username="owner")
    user.groups.add(Group.objects.get_or_create(name="model_owner")[0])
    RegisteredModelFactory.create(name="fraud-detector")
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides: str) -> dict[str, str]:
    return {
        "registered_model": "fraud-detector",
        "month": "2026-10",
        "revenue_uplift": "12000.50",
        "refunds_avoided": "800",
        "time_to_first_value_days": "21",
        "source": "Finance dashboard Q4",
        "owner": "",
        **overrides,
    }


def test_anonymous_and_viewers_are_refused(db):
    assert Client().get(URL).status_code == 302
    client = Client()
    client.force_login(UserFactory.create(username="viewer"))
    assert client.get(URL).status_code == 403
    assert client.post(URL, _form()).status_code == 403
    assert not BusinessOutcome.objects.exists()


def test_owner_records_an_outcome(owner_client):
    page = owner_client.get(URL + "?month=2026-10&model=fraud-detector")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="2026-10"' in html and "Time to first value (days)" in html
    finance = UserFactory.create(username="finance-lead")
    response = owner_client.post(URL, _form(owner=str(finance.pk)))
    assert response.status_code == 302 and response["Location"] == "/reports/?month=2026-10"
    row = BusinessOutcome.objects.get()
    assert (row.revenue_uplift, row.refunds_avoided, row.time_to_first_value_days) == (
        Decimal("12000.50"),
        Decimal("800.00"),
        21.0,
    )
    assert (row.source, row.owner.username, row.month.isoformat()) == (
        "Finance dashboard Q4",
        "finance-lead",
        "2026-10-01",
    )
    event = AuditEvent.objects.get(action="business_outcome.created")
    assert event.actor == "owner" and event.data["owner"] == "finance-lead"

    owner = BusinessOutcome.objects.get().owner
    response = owner_client.post(URL, _form(owner=str(owner.pk), revenue_uplift="1"), follow=True)
    assert "Business outcome of fraud-detector for October 2026 saved." in response.content.decode()
    assert BusinessOutcome.objects.get().revenue_uplift == Decimal("1.00")


def test_invalid_input_is_shown_and_nothing_saved(owner_client):
    owner = UserFactory.create(username="someone")
    response = owner_client.post(
        URL, _form(owner=str(owner.pk), month="oct", source="   ", registered_model="ghost")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The outcome was not saved." in html
    assert "month must look like 2026-10" in html
    assert not BusinessOutcome.objects.exists()


def test_dashboard_links_to_the_entry_page(owner_client):
    page = owner_client.get("/reports/?month=2026-10")
    assert 'href="/reports/outcomes/new/?month=2026-10"' in page.content.decode()
