"""Schemathesis against the generated OpenAPI schema, in-process over WSGI, once per identity: anonymous, a CI
API key, and a session login for each role. No input may produce a 5xx or a response the schema does not
document (status code, content type, headers, body). Examples are bounded: about 1½ minutes on 2 CPUs.

`make test` runs the examples derandomized, so a CI run is reproducible and a red build is the code's fault, not the
draw's; `make fuzz` explores: random draws and more examples (MLGOV_FUZZ_RANDOM=1, MLGOV_FUZZ_EXAMPLES=n). Whatever
it finds becomes a fixed regression test (see tests/security/test_malformed_input.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assessments.services import team_create
from config.wsgi import application
from governance import roles
from governance.services.apikeys import api_key_create
from tests.factories import ModelAliasFactory, SyncRunFactory, UserFactory

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The coverage phase (boundary and negative values of every parameter) runs for the admin; then each fuzzed
# example is sent as every identity: the role decides the path through permissions, the values do not.
FULL_PHASES_IDENTITY = roles.ADMIN
FUZZ_EXAMPLES = int(os.environ.get("MLGOV_FUZZ_EXAMPLES", "4"))
FUZZ_RANDOM = os.environ.get("MLGOV_FUZZ_RANDOM", "") == "1"

boundaries = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=SchemathesisConfig.from_dict({"phases": {"fuzzing": {"enabled": False}}}),
)
fuzzed = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@dataclass
class Identity:
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """As Django's test client does: requests must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def inventory(db: None) -> None:
    """Something for list and detail responses to show: a model with an aliased version, a sync pass, a team."""
    alias = ModelAliasFactory.create()
    SyncRunFactory.create()
    lead = UserFactory.create(username="team-lead")
    team_create(name=alias.registered_model.tags.get("team", "credit-risk"), lead=lead, actor="test")


def _session_identity(role: str) -> Identity:
    user = UserFactory.create(username=f"fuzz-{role}")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client()
    client.force_login(user)
    # A session request that writes must carry the CSRF token, as the UI's JavaScript does.
    csrf = "fuzzcsrftoken".ljust(32, "0")
    return Identity(
        name=role,
        headers={"X-CSRFToken": csrf},
        cookies={"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
    )


def _identity(name: str) -> Identity:
    if name == "anonymous":
        return Identity(name)
    if name == "ci_key":
        user = UserFactory.create(username="fuzz-ci")
        user.groups.add(Group.objects.get_or_create(name=roles.MODEL_OWNER)[0])
        key = api_key_create(name="fuzz", scopes=["evaluate", "promote"], user=user, actor="test")
        return Identity(name, headers={"Authorization": f"Bearer {key.secret}"})
    return _session_identity(name)


@pytest.fixture
def admin(inventory: None, in_process_requests: None) -> Identity:
    return _identity(FULL_PHASES_IDENTITY)


@pytest.fixture
def everyone(inventory: None, in_process_requests: None) -> list[Identity]:
    return [_identity(name) for name in ("anonymous", "ci_key", *roles.ALL_ROLES)]


def _route(path: str) -> str | None:
    """The matched URL pattern written as an OpenAPI path template, or None when nothing matches."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route)


def _addresses_operation(case: schemathesis.Case) -> bool:
    """False when a generated path parameter makes the URL another route's: Django's converters reject it
    (`abc` for `<int:version>`) and a `<path:name>` route, or APPEND_SLASH's redirect to one, takes the URL.
    Such a response is not this operation's to document; it is still checked for server errors. A URL no
    route matches stays checked in full: it gets the API's JSON 404, documented where a path has parameters.
    """
    path = unquote(case.formatted_path)
    route = _route(path)
    if route is None:
        return _route(path + "/") is None
    return route == case.operation.path


def _call_and_check(case: schemathesis.Case, identity: Identity) -> None:
    response = case.call(headers=identity.headers, cookies=identity.cookies)
    checks: list[CheckFunction] = CHECKS if _addresses_operation(case) else [not_a_server_error]
    try:
        case.validate_response(response, checks=checks, headers=identity.headers)
    except Exception as exc:
        exc.add_note(f"Identity: {identity.name}")
        raise


HYPOTHESIS = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=not FUZZ_RANDOM,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@boundaries.parametrize()
@HYPOTHESIS
@pytest.mark.django_db
def test_admin_gets_only_documented_responses(case: schemathesis.Case, admin: Identity) -> None:
    _call_and_check(case, admin)


@fuzzed.parametrize()
@HYPOTHESIS
@pytest.mark.django_db
def test_every_identity_gets_only_documented_responses(
    case: schemathesis.Case, everyone: list[Identity]
) -> None:
    for identity in everyone:
        _call_and_check(case, identity)
