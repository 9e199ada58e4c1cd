"""Registry sync: one idempotent upsert path shared by incremental, full and webhook-targeted passes.

Each page is written in its own transaction with its audit event, so a pass that fails half-way keeps what
it wrote; the incremental watermark only moves when a pass completes, so the next pass resumes safely.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from config.observability import SYNC_CHANGES, SYNC_RUNS
from governance.selectors import alias_explained_by_deployment, protected_aliases
from governance.services.audit import SYSTEM_SYNC_ACTOR, audit_event_record
from registry_sync.mlflow_adapter import (
    MlflowRegistry,
    ModelSnapshot,
    RegistryNotFound,
    RunSnapshot,
    VersionSnapshot,
)
from registry_sync.models import (
    MirrorState,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    Run,
    SyncCursor,
    SyncKind,
    SyncRun,
    SyncStatus,
)

logger = logging.getLogger(__name__)

VERSIONS_CURSOR = "model_versions"
MODELS_CURSOR = "registered_models"
# The first incremental page is small: in the common no-change case it is the only request.
FIRST_INCREMENTAL_PAGE = 50


@dataclass(frozen=True)
class SyncProgress:
    phase: str
    items: int


ProgressCallback = Callable[[SyncProgress], None]


def ms_to_datetime(ms: int | None) -> datetime | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms // 1000, tz=UTC) + timedelta(milliseconds=ms % 1000)


@dataclass
class _PageChanges:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


MODEL_FIELDS = ("description", "tags", "mlflow_created_at", "mlflow_updated_at", "state", "archived_at")
RUN_FIELDS = (
    "experiment_id", "run_name", "status", "user_id", "started_at", "ended_at", "params", "metrics", "tags",
    "datasets",
)  # fmt: skip
VERSION_FIELDS = (
    "source", "mlflow_run_id", "run_id", "mlflow_status", "status_message", "description", "user_id", "tags",
    "mlflow_created_at", "mlflow_updated_at", "mlflow_updated_ms", "state", "archived_at",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- upserts


def _model_fields(snap: ModelSnapshot) -> dict[str, Any]:
    return {
        "description": snap.description,
        "tags": snap.tags,
        "mlflow_created_at": ms_to_datetime(snap.created_ms),
        "mlflow_updated_at": ms_to_datetime(snap.updated_ms),
        "state": MirrorState.ACTIVE,
        "archived_at": None,
    }


def _run_fields(snap: RunSnapshot) -> dict[str, Any]:
    return {
        "experiment_id": snap.experiment_id,
        "run_name": snap.run_name,
        "status": snap.status,
        "user_id": snap.user_id,
        "started_at": ms_to_datetime(snap.start_ms),
        "ended_at": ms_to_datetime(snap.end_ms),
        "params": snap.params,
        "metrics": snap.metrics,
        "tags": snap.tags,
        "datasets": snap.datasets,
    }


def _version_fields(snap: VersionSnapshot, run: Run | None) -> dict[str, Any]:
    return {
        "source": snap.source,
        "mlflow_run_id": snap.run_id,
        "run_id": run.pk if run is not None else None,
        "mlflow_status": snap.status,
        "status_message": snap.status_message,
        "description": snap.description,
        "user_id": snap.user_id,
        "tags": snap.tags,
        "mlflow_created_at": ms_to_datetime(snap.created_ms),
        "mlflow_updated_at": ms_to_datetime(snap.updated_ms),
        "mlflow_updated_ms": snap.updated_ms,
        "state": MirrorState.ACTIVE,
        "archived_at": None,
    }


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    """Set changed attributes on obj; return whether anything differed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert_by_key(
    model: type[Any], *, key: str, rows: dict[str, dict[str, Any]], fields: tuple[str, ...]
) -> tuple[dict[str, Any], int, int]:
    """Create missing rows and update changed ones, matched on a unique key, in a constant number of
    statements; returns the rows by key and the created and updated counts."""
    existing = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": rows})}
    now = timezone.now()
    to_create, to_update = [], []
    for value, columns in rows.items():
        current = existing.get(value)
        if current is None:
            to_create.append(model(**{key: value}, **columns))
        elif _apply(current, columns):
            current.last_synced_at = now
            to_update.append(current)
    if to_create:
        # ON CONFLICT: a concurrent pass that inserted the same row first is updated, not an error.
        model.objects.bulk_create(
            to_create, update_conflicts=True, unique_fields=[key], update_fields=list(fields)
        )
        created_keys = [getattr(obj, key) for obj in to_create]
        existing.update(
            {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": created_keys})}
        )
    if to_update:
        model.objects.bulk_update(to_update, [*fields, "last_synced_at"])
    return existing, len(to_create), len(to_update)


def registered_models_upsert(
    *, snapshots: Iterable[ModelSnapshot], sync_run: SyncRun
) -> dict[str, RegisteredModel]:
    """Create or update models from snapshots (no audit event here: the caller's page event covers it)."""
    rows = {snap.name: _model_fields(snap) for snap in snapshots}
    models, created, updated = _upsert_by_key(RegisteredModel, key="name", rows=rows, fields=MODEL_FIELDS)
    sync_run.models_created += created
    sync_run.models_updated += updated
    return models


def runs_upsert(*, snapshots: Iterable[RunSnapshot], sync_run: SyncRun) -> dict[str, Run]:
    rows = {snap.run_id: _run_fields(snap) for snap in snapshots}
    runs, created, updated = _upsert_by_key(Run, key="run_id", rows=rows, fields=RUN_FIELDS)
    sync_run.runs_synced += created + updated
    return runs


class RegistrySync:
    """One sync pass against one MLflow server; the public entry points below create it."""

    def __init__(
        self,
        *,
        sync_run: SyncRun,
        registry: MlflowRegistry | None = None,
        page_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.sync_run = sync_run
        self.registry = registry or MlflowRegistry()
        self.page_size = page_size or settings.SYNC_PAGE_SIZE
        self.progress = progress
        self._experiment_ids: list[str] | None = None

    def _report(self, phase: str, items: int) -> None:
        if self.progress is not None:
            self.progress(SyncProgress(phase=phase, items=items))

    def _experiments(self) -> list[str]:
        if self._experiment_ids is None:
            self._experiment_ids = self.registry.experiment_ids()
        return self._experiment_ids

    def _fetch_runs(self, run_ids: set[str]) -> list[RunSnapshot]:
        if not run_ids:
            return []
        runs = self.registry.get_runs(run_ids, experiment_ids=self._experiments())
        if len({r.run_id for r in runs}) < len(run_ids):
            # A run in an experiment created after our experiment list was read: refresh once.
            self._experiment_ids = None
            runs = self.registry.get_runs(run_ids, experiment_ids=self._experiments())
        return runs

    # -- models

    @transaction.atomic
    def write_models_page(self, snapshots: list[ModelSnapshot]) -> dict[str, RegisteredModel]:
        before_created, before_updated = self.sync_run.models_created, self.sync_run.models_updated
        models = registered_models_upsert(snapshots=snapshots, sync_run=self.sync_run)
        created = self.sync_run.models_created - before_created
        updated = self.sync_run.models_updated - before_updated
        if created or updated:
            audit_event_record(
                action="registry.models_mirrored",
                actor=SYSTEM_SYNC_ACTOR,
                object_type="registry_sync.syncrun",
                object_id=str(self.sync_run.pk),
                data={"created": created, "updated": updated, "models": sorted(s.name for s in snapshots)},
            )
        return models

    def _ensure_models(self, names: set[str]) -> dict[str, RegisteredModel]:
        models = {m.name: m for m in RegisteredModel.objects.filter(name__in=names)}
        missing = names - set(models)
        if missing:
            models.update(self.write_models_page([self.registry.get_model(name) for name in sorted(missing)]))
        return models

    # -- versions

    def write_versions_page(self, snapshots: list[VersionSnapshot], *, refresh_all_runs: bool) -> None:
        """Upsert one page of versions and their runs. Runs are re-read for every version in a full pass
        (run data changes without bumping timestamps) and for new or changed versions otherwise."""
        if not snapshots:
            return
        models = self._ensure_models({s.model_name for s in snapshots})
        numbers = {s.version for s in snapshots}
        existing = {
            (mv.registered_model_id, mv.version): mv
            for mv in ModelVersion.objects.filter(
                registered_model__in=[models[s.model_name] for s in snapshots], version__in=numbers
            ).select_related("run")
        }
        pending: list[tuple[VersionSnapshot, RegisteredModel, ModelVersion | None]] = []
        for snap in snapshots:
            model = models[snap.model_name]
            current = existing.get((model.pk, snap.version))
            unchanged = (
                current is not None
                and current.state == MirrorState.ACTIVE
                and current.mlflow_updated_ms == snap.updated_ms
                and current.tags == snap.tags
                and current.mlflow_status == snap.status
                and (current.run_id is not None or not snap.run_id)
            )
            if refresh_all_runs or not unchanged:
                pending.append((snap, model, current))
        if not pending:
            return
        run_snaps = self._fetch_runs({snap.run_id for snap, _, _ in pending if snap.run_id})
        self._write_versions(pending, run_snaps)

    @transaction.atomic
    def _write_versions(
        self,
        pending: list[tuple[VersionSnapshot, RegisteredModel, ModelVersion | None]],
        run_snaps: list[RunSnapshot],
    ) -> None:
        runs = runs_upsert(snapshots=run_snaps, sync_run=self.sync_run) if run_snaps else {}
        now = timezone.now()
        changes = _PageChanges()
        to_create: list[ModelVersion] = []
        to_update: list[ModelVersion] = []
        restored: list[ModelVersion] = []
        for snap, model, current in pending:
            values = _version_fields(snap, runs.get(snap.run_id))
            if values["run_id"] is None and current is not None and current.mlflow_run_id == snap.run_id:
                values["run_id"] = current.run_id  # run not returned this time: keep the link we had
            key = f"{model.name}/{snap.version}"
            if current is None:
                to_create.append(ModelVersion(registered_model=model, version=snap.version, **values))
                changes.created.append(key)
            else:
                was_archived = current.state == MirrorState.ARCHIVED
                if _apply(current, values):
                    current.last_synced_at = now
                    to_update.append(current)
                    changes.updated.append(key)
                    if was_archived:
                        restored.append(current)
        if to_create:
            ModelVersion.objects.bulk_create(
                to_create,
                update_conflicts=True,
                unique_fields=["registered_model", "version"],
                update_fields=list(VERSION_FIELDS),
            )
        if to_update:
            ModelVersion.objects.bulk_update(to_update, [*VERSION_FIELDS, "last_synced_at"])
        self.sync_run.versions_created += len(to_create)
        self.sync_run.versions_updated += len(to_update)
        if changes.created or changes.updated:
            audit_event_record(
                action="registry.versions_mirrored",
                actor=SYSTEM_SYNC_ACTOR,
                object_type="registry_sync.syncrun",
                object_id=str(self.sync_run.pk),
                data={"created": changes.created, "updated": changes.updated},
            )
        for version in restored:
            audit_event_record(
                action="registry.version_restored", actor=SYSTEM_SYNC_ACTOR, target=version, data={}
            )

    # -- aliases

    def apply_aliases_bulk(self, desired: dict[str, dict[str, int]]) -> None:
        """Compare every model's aliases in a few queries; only models whose aliases differ are rewritten."""
        names = sorted(desired)
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            current: dict[str, dict[str, int]] = {name: {} for name in chunk}
            for name, alias, number in ModelAlias.objects.filter(
                registered_model__name__in=chunk
            ).values_list("registered_model__name", "alias", "model_version__version"):
                current[name][alias] = number
            differing = [name for name in chunk if current[name] != desired[name]]
            if not differing:
                continue
            models = {m.name: m for m in RegisteredModel.objects.filter(name__in=differing)}
            for name in differing:
                self.apply_aliases(models[name], desired[name])

    @transaction.atomic
    def apply_aliases(self, model: RegisteredModel, aliases: dict[str, int]) -> None:
        """Make the model's aliases match MLflow's; every change is an audited event (alias guard input)."""
        missing_versions = set(aliases.values()) - set(
            ModelVersion.objects.filter(registered_model=model, version__in=aliases.values()).values_list(
                "version", flat=True
            )
        )
        for number in sorted(missing_versions):
            try:
                snap = self.registry.get_version(model.name, number)
            except RegistryNotFound:
                aliases = {a: v for a, v in aliases.items() if v != number}
                continue
            self.write_versions_page([snap], refresh_all_runs=True)
        versions = {
            mv.version: mv
            for mv in ModelVersion.objects.filter(registered_model=model, version__in=aliases.values())
        }
        current = {
            a.alias: a
            for a in ModelAlias.objects.filter(registered_model=model).select_related("model_version")
        }
        protected = protected_aliases()
        for alias, number in sorted(aliases.items()):
            target = versions[number]
            existing = current.pop(alias, None)
            if existing is not None and existing.model_version_id == target.pk:
                continue
            previous = existing.model_version.version if existing is not None else None
            # Alias guard: a protected alias must be where the platform's last promotion put it.
            outside = alias in protected and not alias_explained_by_deployment(
                registered_model_id=model.pk, alias=alias, version=number
            )
            if existing is None:
                ModelAlias.objects.create(
                    registered_model=model, alias=alias, model_version=target, outside_platform=outside
                )
            else:
                existing.model_version = target
                existing.outside_platform = outside
                existing.save(update_fields=["model_version", "outside_platform", "updated_at"])
            self.sync_run.aliases_changed += 1
            audit_event_record(
                action="registry.alias_set",
                actor=SYSTEM_SYNC_ACTOR,
                target=model,
                data={
                    "alias": alias,
                    "version": number,
                    "previous_version": previous,
                    "outside_platform": outside,
                },
            )
            if outside:
                audit_event_record(
                    action="registry.protected_alias_moved_outside_platform",
                    actor=SYSTEM_SYNC_ACTOR,
                    target=model,
                    data={"alias": alias, "version": number, "previous_version": previous},
                )
                logger.warning(
                    "protected alias %s@%s moved to v%s outside the platform", model.name, alias, number
                )
        for alias, stale in current.items():
            stale.delete()
            self.sync_run.aliases_changed += 1
            audit_event_record(
                action="registry.alias_removed",
                actor=SYSTEM_SYNC_ACTOR,
                target=model,
                data={"alias": alias, "previous_version": stale.model_version.version},
            )

    # -- archival

    @transaction.atomic
    def archive_models(self, models: Iterable[RegisteredModel]) -> None:
        now = timezone.now()
        for model in models:
            updated = RegisteredModel.objects.filter(pk=model.pk, state=MirrorState.ACTIVE).update(
                state=MirrorState.ARCHIVED, archived_at=now
            )
            if updated != 1:
                continue
            versions = ModelVersion.objects.filter(registered_model=model, state=MirrorState.ACTIVE)
            archived_versions = sorted(versions.values_list("version", flat=True))
            versions.update(state=MirrorState.ARCHIVED, archived_at=now)
            removed_aliases = dict(
                ModelAlias.objects.filter(registered_model=model).values_list(
                    "alias", "model_version__version"
                )
            )
            ModelAlias.objects.filter(registered_model=model).delete()
            self.sync_run.models_archived += 1
            self.sync_run.versions_archived += len(archived_versions)
            audit_event_record(
                action="registry.model_archived",
                actor=SYSTEM_SYNC_ACTOR,
                target=model,
                data={
                    "reason": "deleted in MLflow",
                    "versions": archived_versions,
                    "aliases": removed_aliases,
                },
            )

    @transaction.atomic
    def archive_versions(self, versions: Iterable[ModelVersion]) -> None:
        now = timezone.now()
        for version in versions:
            updated = ModelVersion.objects.filter(pk=version.pk, state=MirrorState.ACTIVE).update(
                state=MirrorState.ARCHIVED, archived_at=now
            )
            if updated != 1:
                continue
            removed = list(ModelAlias.objects.filter(model_version=version).values_list("alias", flat=True))
            ModelAlias.objects.filter(model_version=version).delete()
            self.sync_run.versions_archived += 1
            audit_event_record(
                action="registry.version_archived",
                actor=SYSTEM_SYNC_ACTOR,
                target=version,
                data={"reason": "deleted in MLflow", "aliases": removed},
            )


# ------------------------------------------------------------------------------------------------ passes


def _cursor(key: str) -> SyncCursor:
    cursor, _ = SyncCursor.objects.get_or_create(key=key)
    return cursor


@transaction.atomic
def _finish(sync_run: SyncRun, *, cursors: dict[str, int] | None = None) -> SyncRun:
    for key, watermark in (cursors or {}).items():
        SyncCursor.objects.filter(key=key, watermark_ms__lt=watermark).update(watermark_ms=watermark)
    sync_run.status = SyncStatus.SUCCEEDED
    sync_run.finished_at = timezone.now()
    sync_run.save()
    SYNC_RUNS.labels(kind=sync_run.kind, status=SyncStatus.SUCCEEDED).inc()
    SYNC_CHANGES.labels(kind=sync_run.kind).inc(sync_run.changes)
    audit_event_record(
        action="registry.sync_completed",
        actor=SYSTEM_SYNC_ACTOR,
        target=sync_run,
        data={"kind": sync_run.kind, "target": sync_run.target, "changes": sync_run.changes},
    )
    return sync_run


def _fail(sync_run: SyncRun, exc: BaseException) -> None:
    sync_run.status = SyncStatus.FAILED
    sync_run.finished_at = timezone.now()
    sync_run.error = f"{type(exc).__name__}: {exc}"[:4000]
    SYNC_RUNS.labels(kind=sync_run.kind, status=SyncStatus.FAILED).inc()
    with transaction.atomic():
        sync_run.save()
        audit_event_record(
            action="registry.sync_failed",
            actor=SYSTEM_SYNC_ACTOR,
            target=sync_run,
            data={"kind": sync_run.kind, "target": sync_run.target, "error": sync_run.error},
        )
    logger.warning("registry sync %s #%s failed: %s", sync_run.kind, sync_run.pk, sync_run.error)


def sync_runs_abandoned_fail(*, now: datetime | None = None) -> int:
    """Mark passes still "running" long after they started as failed: their process died, or lost the database
    before it could record the failure. Each gets its audit event; returns how many were marked."""
    started_before = (now or timezone.now()) - timedelta(seconds=settings.SYNC_RUN_ABANDONED_AFTER_SECONDS)
    marked = 0
    for stale in SyncRun.objects.filter(status=SyncStatus.RUNNING, started_at__lt=started_before):
        with transaction.atomic():
            error = (
                f"abandoned: still running {settings.SYNC_RUN_ABANDONED_AFTER_SECONDS:.0f} s after it started"
            )
            updated = SyncRun.objects.filter(pk=stale.pk, status=SyncStatus.RUNNING).update(
                status=SyncStatus.FAILED, finished_at=timezone.now(), error=error
            )
            if updated:
                audit_event_record(
                    action="registry.sync_abandoned",
                    actor=SYSTEM_SYNC_ACTOR,
                    target=stale,
                    data={
                        "kind": stale.kind,
                        "target": stale.target,
                        "started_at": stale.started_at.isoformat(),
                    },
                )
                SYNC_RUNS.labels(kind=stale.kind, status=SyncStatus.FAILED).inc()
                marked += updated
    return marked


def _run_pass(
    kind: str, target: str, body: Callable[[RegistrySync], dict[str, int] | None], **kwargs: Any
) -> SyncRun:
    sync_runs_abandoned_fail()
    sync_run = SyncRun.objects.create(kind=kind, target=target)
    sync = RegistrySync(sync_run=sync_run, **kwargs)
    try:
        cursors = body(sync)
    except BaseException as exc:
        _fail(sync_run, exc)
        raise
    return _finish(sync_run, cursors=cursors)


def sync_incremental(
    *,
    registry: MlflowRegistry | None = None,
    page_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> SyncRun:
    """Read models and versions changed since the watermarks, newest first, stopping once past them."""

    def body(sync: RegistrySync) -> dict[str, int]:
        model_mark = _cursor(MODELS_CURSOR).watermark_ms
        version_mark = _cursor(VERSIONS_CURSOR).watermark_ms
        sync.sync_run.watermark_before = version_mark
        newest_model = model_mark
        for page in _watermarked_pages(sync.registry.iter_model_pages, sync.page_size):
            fresh = [m for m in page if m.updated_ms >= model_mark]
            if fresh:
                sync.write_models_page(fresh)
                sync.apply_aliases_bulk({snap.name: snap.aliases for snap in fresh})
                newest_model = max(newest_model, max(m.updated_ms for m in fresh))
            sync.sync_run.pages += 1
            sync._report("models", len(fresh))
            if len(fresh) < len(page):
                break
        newest_version = version_mark
        for page in _watermarked_pages(sync.registry.iter_version_pages, sync.page_size):
            fresh = [v for v in page if v.updated_ms >= version_mark]
            sync.sync_run.versions_seen += len(fresh)
            sync.write_versions_page(fresh, refresh_all_runs=False)
            if fresh:
                newest_version = max(newest_version, max(v.updated_ms for v in fresh))
            sync.sync_run.pages += 1
            sync._report("versions", len(fresh))
            if len(fresh) < len(page):
                break
        sync.sync_run.watermark_after = newest_version
        return {MODELS_CURSOR: newest_model, VERSIONS_CURSOR: newest_version}

    return _run_pass(
        SyncKind.INCREMENTAL, "", body, registry=registry, page_size=page_size, progress=progress
    )


def _watermarked_pages(iterator: Callable[..., Iterable[list[Any]]], page_size: int) -> Iterable[list[Any]]:
    """Yield a small first page (usually all a no-change pass needs), then full pages."""
    first = min(FIRST_INCREMENTAL_PAGE, page_size)
    seen = 0
    for page in iterator(page_size=first):
        yield page
        seen += len(page)
        break
    else:
        return
    if len(page) < first:
        return
    skipped = 0
    for page in iterator(page_size=page_size):
        if skipped < seen:
            # MLflow page tokens are offsets into one ordering: drop what the small first page already gave.
            drop = min(seen - skipped, len(page))
            skipped += drop
            page = page[drop:]
            if not page:
                continue
        yield page


def sync_full(
    *,
    registry: MlflowRegistry | None = None,
    page_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> SyncRun:
    """Reconcile everything: models, versions, runs and aliases; archive what MLflow no longer has."""

    def body(sync: RegistrySync) -> dict[str, int]:
        sync.sync_run.watermark_before = _cursor(VERSIONS_CURSOR).watermark_ms
        _cursor(MODELS_CURSOR)  # created now so that the pass's end can move it
        seen_models: dict[str, ModelSnapshot] = {}
        newest_model = 0
        for page in sync.registry.iter_model_pages(page_size=sync.page_size):
            sync.write_models_page(page)
            seen_models.update({m.name: m for m in page})
            newest_model = max([newest_model, *(m.updated_ms for m in page)])
            sync.sync_run.pages += 1
            sync._report("models", len(page))
        seen_versions: set[tuple[str, int]] = set()
        newest_version = 0
        for versions in sync.registry.iter_version_pages(page_size=sync.page_size):
            sync.write_versions_page(versions, refresh_all_runs=True)
            seen_versions.update((v.model_name, v.version) for v in versions)
            newest_version = max([newest_version, *(v.updated_ms for v in versions)])
            sync.sync_run.versions_seen += len(versions)
            sync.sync_run.pages += 1
            sync._report("versions", len(versions))
        sync.archive_models(
            RegisteredModel.objects.filter(state=MirrorState.ACTIVE).exclude(name__in=seen_models)
        )
        gone = [
            mv
            for mv in ModelVersion.objects.filter(
                state=MirrorState.ACTIVE, registered_model__name__in=seen_models
            )
            .select_related("registered_model")
            .only("id", "version", "registered_model__name")
            if (mv.registered_model.name, mv.version) not in seen_versions
        ]
        sync.archive_versions(gone)
        sync.apply_aliases_bulk({name: snap.aliases for name, snap in seen_models.items()})
        sync._report("aliases", len(seen_models))
        sync.sync_run.watermark_after = newest_version
        return {MODELS_CURSOR: newest_model, VERSIONS_CURSOR: newest_version}

    return _run_pass(SyncKind.FULL, "", body, registry=registry, page_size=page_size, progress=progress)


def sync_targeted(
    *, model_name: str, version: int | None = None, registry: MlflowRegistry | None = None
) -> SyncRun:
    """Re-read one model (and optionally one version) from MLflow; used by webhooks and the UI."""

    def body(sync: RegistrySync) -> None:
        try:
            snap = sync.registry.get_model(model_name)
        except RegistryNotFound:
            sync.archive_models(RegisteredModel.objects.filter(name=model_name))
            return
        model = sync.write_models_page([snap])[model_name]
        if version is not None:
            try:
                version_snap = sync.registry.get_version(model_name, version)
            except RegistryNotFound:
                sync.archive_versions(ModelVersion.objects.filter(registered_model=model, version=version))
            else:
                sync.write_versions_page([version_snap], refresh_all_runs=True)
        sync.apply_aliases(model, snap.aliases)

    target = model_name if version is None else f"{model_name}/{version}"
    return _run_pass(SyncKind.TARGETED, target[:300], body, registry=registry)


def sync_watermark() -> int:
    return SyncCursor.objects.filter(key=VERSIONS_CURSOR).aggregate(m=Max("watermark_ms"))["m"] or 0
