"""Hostile values in every form the pages render: no 5xx. The API has schemathesis (tests/security/test_api_fuzz.py);
the pages' forms have no schema, so this reads them from the HTML. For each page of the authorization matrix, as a
superuser (every form is shown), each form (POST actions, GET filters) is sent with its own values and then with
one field at a time replaced by a NUL character, an oversized text, a negative or huge number, or nothing; the
answer must be a page, a redirect or a 4xx, never a server error."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.ui.conftest import PersonMaker
from tests.ui.test_page_authorization import PAGES, World, world  # noqa: F401 - world is a fixture

pytestmark = pytest.mark.django_db

HOSTILE = ["a\x00b", "x" * 5000, "-1", "9" * 30, ""]
PAGES_WITH_FORMS = {
    "approval page",
    "model page",
    "intended-use form",
    "assessments",
    "assessment profile",
    "assessment step",
    "business outcome form",
    "model list",
    "review queue",
    "ROI worksheet",
}


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """Forms (but logout) with the value each field would submit as rendered (first option of a select)."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None  # the form being read (None inside the logout form)
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_url
            method = a.get("method", "get").lower()
            self._form = None if action == reverse("logout") else Form(action=action, method=method)
            if self._form:
                self.forms.append(self._form)
            return
        if self._form is None or "name" not in a or a["name"] == "csrfmiddlewaretoken":
            return
        fields = self._form.fields
        if tag == "input" and a.get("type") not in ("file", "submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                fields.setdefault(a["name"], "")
                return
            if a.get("type") == "submit":
                return
            fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("type", "submit") == "submit":
            fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a["name"]
            fields.setdefault(a["name"], "")
        elif tag == "option" and self._select and not fields.get(self._select):
            fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            fields[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form:
            self._form.fields[self._textarea] += data


@pytest.mark.parametrize("page", [name for name in PAGES if not name.endswith("(post only)")])
def test_forms_survive_hostile_values(world: World, person: PersonMaker, page: str) -> None:  # noqa: F811
    root = person("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(root)
    url = PAGES[page][0](world)
    response = client.get(url)
    assert response.status_code == 200, page
    if not response["Content-Type"].startswith("text/html"):
        return  # a download: no forms
    parser = _Forms(url)
    parser.feed(response.content.decode())
    for form in parser.forms:
        sent = [dict(form.fields)]
        sent += [{**form.fields, name: value} for name in form.fields for value in HOSTILE]
        for data in sent:
            send = client.post if form.method == "post" else client.get
            answer = send(form.action, data)
            assert answer.status_code < 500, (page, form.action, data)
            assert "_auth_user_id" in client.session, (page, form.action)  # still signed in: real posts
    if page in PAGES_WITH_FORMS:  # the parser still finds them: the test is not silently empty
        assert any(form.fields for form in parser.forms), page
