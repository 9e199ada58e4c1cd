"""Server-side SVG of one version's lineage graph (governance.lineage), laid out left to right in layers by
node kind: datasets → run → version → sign-offs, gate decisions, evidence → approvals, deployments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Layer (column) of each node kind, and the order within it; edges may point either way between layers.
LAYERS: dict[str, tuple[int, int]] = {
    "dataset": (0, 0),
    "run": (1, 0),
    "model_version": (2, 0),
    "signoff": (3, 0),
    "evidence": (3, 1),
    "gate_decision": (3, 2),
    "approval_request": (3, 3),
    "deployment": (4, 0),
    "alias_move": (4, 1),
}
UNKNOWN_LAYER = (5, 0)
KIND_LABELS: dict[str, str] = {
    "dataset": "Dataset",
    "run": "Training run",
    "model_version": "Model version",
    "alias_move": "Alias (outside platform)",
    "evidence": "Evidence",
    "signoff": "Sign-off",
    "gate_decision": "Gate decision",
    "approval_request": "Approval request",
    "deployment": "Deployment",
}
BOX_WIDTH = 160
BOX_HEIGHT = 44
COLUMN_GAP = 84  # room for the relation text on the arrows
ARC_ROOM = 56  # more after a layer whose nodes link to each other: arcs and their text go there
ROW_GAP = 22
MARGIN = 12
LABEL_CHARS = 20
WIDE = 1000  # wider graphs shrink to fit the page down to this width, then scroll


@dataclass(frozen=True)
class PlacedNode:
    id: str
    kind: str
    label: str
    href: str
    x: int
    y: int

    @property
    def short_label(self) -> str:
        return self.label if len(self.label) <= LABEL_CHARS else self.label[: LABEL_CHARS - 1] + "…"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class LineageGraph:
    """What the template needs: the SVG markup and the edges spelled out for screen readers."""

    svg: SafeString
    nodes: tuple[PlacedNode, ...]
    edges: tuple[tuple[PlacedNode, str, PlacedNode], ...]


def _node_href(node: dict[str, Any], *, model_name: str) -> str:
    key = node["id"].split(":", 1)[1]
    if node["kind"] == "gate_decision":
        return reverse("governance:decision-detail", kwargs={"decision_id": key})
    if node["kind"] == "approval_request":
        return reverse("governance:approval-detail", kwargs={"pk": int(key)})
    if node["kind"] == "model_version":
        version = key.rsplit("/", 1)[1]
        return reverse("governance:model-detail", kwargs={"name": model_name}) + f"#v{version}"
    return ""


def _layer(kind: str) -> int:
    return LAYERS.get(kind, UNKNOWN_LAYER)[0]


def _place(lineage: dict[str, Any]) -> tuple[dict[str, PlacedNode], int, int]:
    kinds = {node["id"]: node["kind"] for node in lineage["nodes"]}
    arc_layers = {
        _layer(kinds[edge["source"]])
        for edge in lineage["edges"]
        if edge["source"] in kinds
        and edge["target"] in kinds
        and _layer(kinds[edge["source"]]) == _layer(kinds[edge["target"]])
    }
    columns: dict[int, list[dict[str, Any]]] = {}
    ranked = sorted(lineage["nodes"], key=lambda node: LAYERS.get(node["kind"], UNKNOWN_LAYER))  # stable
    for node in ranked:
        columns.setdefault(_layer(node["kind"]), []).append(node)
    used = sorted(columns)
    tallest = max(len(nodes) for nodes in columns.values())
    height = 2 * MARGIN + tallest * BOX_HEIGHT + (tallest - 1) * ROW_GAP
    placed: dict[str, PlacedNode] = {}
    x = right_edge = MARGIN
    for layer in used:
        nodes = columns[layer]
        column_height = len(nodes) * BOX_HEIGHT + (len(nodes) - 1) * ROW_GAP
        top = (height - column_height) // 2
        for row, node in enumerate(nodes):
            placed[node["id"]] = PlacedNode(
                id=node["id"],
                kind=node["kind"],
                label=str(node["label"]),
                href=_node_href(node, model_name=lineage["model"]),
                x=x,
                y=top + row * (BOX_HEIGHT + ROW_GAP),
            )
        right_edge = x + BOX_WIDTH + (ARC_ROOM if layer in arc_layers else 0)
        x = right_edge + COLUMN_GAP
    return placed, right_edge + MARGIN, height


def _arrow(source: PlacedNode, target: PlacedNode, relation: str, marker: str) -> SafeString:
    if source.x == target.x:  # same layer: an arc out of the right sides, wider the further apart
        x1 = x2 = source.x + BOX_WIDTH
        y1 = source.y + BOX_HEIGHT // 2
        y2 = target.y + BOX_HEIGHT // 2
        bulge = min(ARC_ROOM, 20 + abs(y2 - y1) // 6)
        path = f"M{x1},{y1} C{x1 + bulge},{y1} {x2 + bulge},{y2} {x2},{y2}"
        label_x, label_y, anchor = x1 + bulge * 3 // 4 + 4, (y1 + y2) // 2 + 4, "start"
    else:
        rightward = source.x < target.x
        x1 = source.x + BOX_WIDTH if rightward else source.x
        x2 = target.x if rightward else target.x + BOX_WIDTH
        y1 = source.y + BOX_HEIGHT // 2
        y2 = target.y + BOX_HEIGHT // 2
        bend = (x2 - x1) // 2
        path = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
        label_x, label_y, anchor = (x1 + x2) // 2, (y1 + y2) // 2 - 4, "middle"
    return format_html(
        '<g class="lineage__edge"><path d="{}" marker-end="url(#{})"/>'
        '<text x="{}" y="{}" text-anchor="{}">{}</text></g>',
        path,
        marker,
        label_x,
        label_y,
        anchor,
        relation,
    )


def _box(node: PlacedNode) -> SafeString:
    body = format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" rx="6"/>'
        '<text class="lineage__kind" x="{}" y="{}">{}</text>'
        '<text class="lineage__label" x="{}" y="{}">{}</text>',
        node.x,
        node.y,
        BOX_WIDTH,
        BOX_HEIGHT,
        node.x + 10,
        node.y + 17,
        node.kind_label,
        node.x + 10,
        node.y + 35,
        node.short_label,
    )
    title = format_html("<title>{}: {}</title>", node.kind_label, node.label)
    if node.href:
        return format_html(
            '<a class="lineage__node lineage__node--{} lineage__node--link" href="{}">{}{}</a>',
            node.kind,
            node.href,
            title,
            body,
        )
    return format_html('<g class="lineage__node lineage__node--{}">{}{}</g>', node.kind, title, body)


def lineage_graph(*, lineage: dict[str, Any]) -> LineageGraph:
    """Lay out and draw `model_version_lineage(...)`; edges to nodes outside the graph are left out."""
    placed, width, height = _place(lineage)
    prefix = f"lineage-v{lineage['version']}"
    edges = tuple(
        (placed[edge["source"]], edge["relation"].replace("_", " "), placed[edge["target"]])
        for edge in lineage["edges"]
        if edge["source"] in placed and edge["target"] in placed
    )
    kinds = sorted({node.kind for node in placed.values()}, key=lambda kind: LAYERS.get(kind, UNKNOWN_LAYER))
    description = (
        f"{len(placed)} nodes and {len(edges)} links, left to right: "
        + ", ".join(KIND_LABELS.get(kind, kind).lower() for kind in kinds)
        + ". The list after the graph spells out every link."
    )
    svg = format_html(
        '<svg class="lineage__svg{wide}" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-labelledby="{p}-title {p}-desc">'
        '<title id="{p}-title">Lineage of {model} version {version}</title>'
        '<desc id="{p}-desc">{desc}</desc>'
        '<defs><marker id="{p}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        "{edges}{nodes}</svg>",
        wide=" lineage__svg--wide" if width > WIDE else "",
        w=width,
        h=height,
        p=prefix,
        model=lineage["model"],
        version=lineage["version"],
        desc=description,
        edges=format_html_join("", "{}", ((_arrow(s, t, r, f"{prefix}-arrow"),) for s, r, t in edges)),
        nodes=format_html_join("", "{}", ((_box(node),) for node in placed.values())),
    )
    return LineageGraph(svg=svg, nodes=tuple(placed.values()), edges=edges)
