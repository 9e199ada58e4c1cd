"""The lineage graph on the model page: an htmx fragment per version with an accessible SVG (labels, links to
the decision pages, an edge list for screen readers), export links, login required, and a fixed query count."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from governance import roles
from governance.lineage_svg import BOX_WIDTH, lineage_graph
from governance.models import Deployment, GateDecision
from governance.services.gate import gate_evaluate
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory
from tests.gate.test_gate_api import governed_version
from tests.ui.conftest import PersonMaker, logged_in

pytestmark = pytest.mark.django_db

# Session + user, the version (with model and run) and its aliases, then the lineage: decisions, sign-offs,
# deployments, aliases moved outside the platform, evidence, approval requests, audit slice.
LINEAGE_FRAGMENT_MAX_QUERIES = 11


def fragment_url(version: ModelVersion) -> str:
    return reverse(
        "governance:version-lineage",
        kwargs={"name": version.registered_model.name, "version": version.version},
    )


def evaluate(version: ModelVersion, target: str, caller: User) -> GateDecision:
    return gate_evaluate(
        model_name=version.registered_model.name, version=version.version, target=target, caller=caller
    )


@pytest.fixture
def viewer(person: PersonMaker) -> User:
    return person("vera", roles.VIEWER)


@pytest.fixture
def promoted(viewer: User) -> tuple[ModelVersion, GateDecision]:
    version = governed_version(tier="minimal", signoffs=[("owner", "olga")])
    decision = evaluate(version, "production", viewer)
    assert decision.allow
    Deployment.objects.create(
        gate_decision=decision,
        model_version=version,
        target_stage="production",
        alias="champion",
        deployed_by="ci",
    )
    return version, decision


def test_fragment_draws_every_node_with_links_and_an_edge_list(
    promoted: tuple[ModelVersion, GateDecision], viewer: User
) -> None:
    version, decision = promoted
    html = logged_in(viewer).get(fragment_url(version)).content.decode()

    svg = re.search(r"<svg .*?</svg>", html, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert f'<title id="lineage-v{version.version}-title">Lineage of {version.registered_model.name}' in html
    assert f'aria-labelledby="lineage-v{version.version}-title lineage-v{version.version}-desc"' in html
    for label in (
        "applications-2025q3",
        "applications-holdout",
        f"{version.registered_model.name} v{version.version}",
        "ALLOW → production",
        "owner by olga",
        "@champion",
    ):
        assert label in svg.group(0), label
    decision_url = reverse("governance:decision-detail", kwargs={"decision_id": decision.pk})
    assert f'href="{decision_url}"' in svg.group(0)

    edge_list = re.search(r'<ul class="visually-hidden".*?</ul>', html, re.S)
    assert edge_list is not None
    items = re.findall(r"<li>(.*?)</li>", edge_list.group(0), re.S)
    assert len(items) == len(re.findall('class="lineage__edge"', svg.group(0))) >= 6
    assert any("signed" in item and "olga" in item for item in items)
    assert any("promoted" in item and "@champion" in item for item in items)


def test_model_page_loads_each_versions_graph_on_demand_and_links_the_exports(viewer: User) -> None:
    first = ModelVersionFactory.create()
    second = ModelVersionFactory.create(registered_model=first.registered_model)
    html = (
        logged_in(viewer)
        .get(reverse("governance:model-detail", kwargs={"name": first.registered_model.name}))
        .content.decode()
    )

    for version in (first, second):
        name, number = version.registered_model.name, version.version
        assert f'hx-get="{fragment_url(version)}"' in html
        assert f'href="/api/v1/lineage/{name}/{number}"' in html
        assert f'href="/api/v1/lineage/{name}/{number}/bundle.zip"' in html
    assert "<svg" not in html  # drawn by the fragment, not by the page


def test_fragment_needs_login_and_an_existing_version(
    promoted: tuple[ModelVersion, GateDecision], client: Any, viewer: User
) -> None:
    version, _ = promoted
    anonymous = client.get(fragment_url(version))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    missing = reverse(
        "governance:version-lineage", kwargs={"name": version.registered_model.name, "version": 99}
    )
    assert logged_in(viewer).get(missing).status_code == 404


def test_fragment_query_count_does_not_grow_with_the_history(
    promoted: tuple[ModelVersion, GateDecision], viewer: User, django_assert_max_num_queries: Any
) -> None:
    version, _ = promoted
    client = logged_in(viewer)
    with django_assert_max_num_queries(LINEAGE_FRAGMENT_MAX_QUERIES):
        assert client.get(fragment_url(version)).status_code == 200
    for target in ("staging", "production", "staging"):
        evaluate(version, target, viewer)
    with django_assert_max_num_queries(LINEAGE_FRAGMENT_MAX_QUERIES):
        html = client.get(fragment_url(version)).content.decode()
    assert html.count('class="lineage__node lineage__node--gate_decision') == 4


def _lineage(**overrides: Any) -> dict[str, Any]:
    return {
        "model": "credit/scorer",
        "version": 3,
        "nodes": [
            {"id": "dataset:d@1", "kind": "dataset", "label": "<script>alert(1)</script>"},
            {"id": "run:r1", "kind": "run", "label": "nightly"},
            {"id": "model_version:credit/scorer/3", "kind": "model_version", "label": "credit/scorer v3"},
        ],
        "edges": [
            {"source": "dataset:d@1", "target": "run:r1", "relation": "training"},
            {"source": "run:r1", "target": "model_version:credit/scorer/3", "relation": "produced"},
            {"source": "gate_decision:gone", "target": "run:r1", "relation": "promoted"},
        ],
        **overrides,
    }


def test_layers_run_left_to_right_and_labels_are_escaped() -> None:
    graph = lineage_graph(lineage=_lineage())

    x = {node.kind: node.x for node in graph.nodes}
    assert x["dataset"] < x["run"] < x["model_version"]
    assert x["run"] - x["dataset"] > BOX_WIDTH
    assert "<script>" not in graph.svg and "&lt;script&gt;" in graph.svg
    assert [relation for _, relation, _ in graph.edges] == ["training", "produced"]  # dangling edge left out
    version_node = next(node for node in graph.nodes if node.kind == "model_version")
    assert version_node.href == reverse("governance:model-detail", kwargs={"name": "credit/scorer"}) + "#v3"
