"""End to end in a real browser (Playwright driving Chromium) against pytest-django's live_server: an owner
requests approval for a version and submits it; a validator starts the review and signs off; a second owner
signs off as owner; a committee member approves (the limited-tier model's bias passes, so the gate allows).

Screenshots of the queue, the approval page and the model page are saved to tests/ui/artifacts/.
Needs the `playwright` package and a Chromium binary (PLAYWRIGHT_CHROMIUM, default /usr/bin/chromium).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect, sync_playwright

from governance import roles
from governance.models import ApprovalRequest, SignOff
from registry_sync.models import ModelVersion
from tests.factories import DEFAULT_PASSWORD
from tests.ui.conftest import PersonMaker, steward

# live_server serves from another thread, so the data must be committed (transactional test); the role
# groups a flush removes are recreated where they are used (get_or_create).
pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread, which trips Django's async guard although
    # the test's ORM calls are plain synchronous ones (the documented Playwright-with-Django setting).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
        # Close the connection the test body's queries opened: left open, it outlived the session and the
        # test database could not be dropped at the end (a PytestWarning in every run).
        connections.close_all()


def sign_in(browser: Browser, base_url: str, username: str, *, width: int = 1400) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}, base_url=base_url).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue")
    ).to_be_visible()
    return page


def expect_message(page: Page, text: str) -> None:
    expect(page.locator(".messages")).to_contain_text(text)


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the button `name` has focus: proves it is reachable by keyboard, and visibly focused."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.tagName, document.activeElement.textContent.trim(),"
            " getComputedStyle(document.activeElement).outlineStyle]"
        )
        if focused[0] == "BUTTON" and focused[1] == name:
            assert focused[2] == "solid", "keyboard focus must be visible"
            return
    raise AssertionError(f"{name!r} is not reachable with the Tab key")


def open_from_queue(page: Page, approval_id: int) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    page.get_by_role("link", name=re.compile(rf"^#{approval_id}\b")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Approval request #{approval_id}")


def sign_off(page: Page, comment: str) -> None:
    form = page.locator("form", has=page.get_by_role("button", name=re.compile("^Sign off v")))
    form.get_by_label("Comment").fill(comment)
    form.get_by_role("button", name=re.compile("^Sign off v")).click()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_request_review_signoffs_and_approval_in_the_browser(
    browser: Browser, live_server: Any, version: ModelVersion, person: PersonMaker
) -> None:
    # Olivia (Responsible) requests; Otto (Accountable) gives the owner sign-off: both steward the model.
    steward(version.registered_model, person("olivia", roles.MODEL_OWNER))
    steward(version.registered_model, person("otto", roles.MODEL_OWNER), "accountable")
    person("vik", roles.VALIDATOR)
    person("cleo", roles.COMMITTEE_MEMBER)
    model_url = reverse("governance:model-detail", kwargs={"name": version.registered_model.name})
    base = live_server.url

    # The owner requests approval for the version from the model page, then submits it by keyboard.
    owner = sign_in(browser, base, "olivia")
    owner.goto(f"{model_url}#v{version.version}")
    owner.get_by_label(f"Target for v{version.version}").select_option("production")
    owner.get_by_role("button", name=f"Request approval for v{version.version}").click()
    expect_message(owner, "opened as a draft")
    approval_id = int(re.search(r"/approvals/(\d+)/", owner.url).group(1))  # type: ignore[union-attr]
    tab_to(owner, "Submit for review")
    owner.keyboard.press("Enter")
    expect_message(owner, "Submitted for review.")
    expect(owner.locator("h1")).to_contain_text("Submitted")

    # The validator finds it in the queue, starts the review and signs off.
    validator = sign_in(browser, base, "vik")
    open_from_queue(validator, approval_id)
    validator.get_by_role("button", name="Start review").click()
    expect_message(validator, "Review started")
    expect(validator.get_by_label("Role")).to_have_value("validator")
    sign_off(validator, "Validation report reviewed; bias within limits.")
    expect_message(validator, "Signed off as validator.")

    # A second owner (not the submitter) signs off as owner.
    second_owner = sign_in(browser, base, "otto")
    open_from_queue(second_owner, approval_id)
    sign_off(second_owner, "Model card and monitoring plan checked.")
    expect_message(second_owner, "Signed off as model owner.")

    # The committee member approves: the gate is evaluated now and allows.
    committee = sign_in(browser, base, "cleo")
    committee.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    expect(committee.locator("#queue-table")).to_contain_text(version.registered_model.name)
    shoot(committee, "queue")
    open_from_queue(committee, approval_id)
    committee.get_by_label("Approval comment").fill("Sign-offs complete; gate allows.")
    committee.get_by_role("button", name="Approve").click()
    expect_message(committee, "Approved: the gate allowed this deployment.")
    expect(committee.locator("h1")).to_contain_text("Approved")
    timeline = committee.locator(".timeline")
    expect(timeline).to_contain_text("approved it")
    expect(timeline).to_contain_text("signed off as owner")
    shoot(committee, "approval")
    committee.set_viewport_size({"width": 1024, "height": 900})
    shoot(committee, "approval-1024")
    committee.set_viewport_size({"width": 1400, "height": 900})
    committee.goto(f"{model_url}#v{version.version}")
    expect(committee.locator(f"#v{version.version}")).to_contain_text(f"approval #{approval_id}: approved")
    shoot(committee, "model")

    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.state == "approved" and approval.decided_by is not None
    assert approval.decided_by.username == "cleo" and approval.gate_decision is not None
    assert approval.gate_decision.allow is True
    assert sorted(SignOff.objects.values_list("role", "user__username")) == [
        ("owner", "otto"),
        ("validator", "vik"),
    ]
