"""The Rego bundle on disk: its files, their digest, and a regorus engine loaded the way OPA loads them.
OPA mounts the same directory, so data files sit at their directory path (config/data.json -> data.config)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import regorus

BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
DATA_FILE_NAME = "data.json"


class BundleError(Exception):
    """The bundle cannot be loaded: conflicting data paths or a Rego module regorus rejects."""


@dataclass(frozen=True)
class BundleFile:
    path: str  # POSIX path relative to the bundle root, e.g. "gates/deploy.rego"
    content: bytes

    @property
    def is_rego(self) -> bool:
        return self.path.endswith(".rego")

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")

    @property
    def is_data(self) -> bool:
        return PurePosixPath(self.path).name == DATA_FILE_NAME

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


def read_bundle(*, root: Path = BUNDLE_DIR) -> tuple[BundleFile, ...]:
    """Every file OPA would load from the bundle directory (Rego modules and data.json), sorted by path."""
    files = [
        BundleFile(path=path.relative_to(root).as_posix(), content=path.read_bytes())
        for path in root.rglob("*")
        if path.is_file() and (path.suffix == ".rego" or path.name == DATA_FILE_NAME)
    ]
    return tuple(sorted(files, key=lambda bundle_file: bundle_file.path))


def digest_files(files: Iterable[BundleFile]) -> str:
    """sha256 hex over sorted (path, content) pairs; lengths are framed so no two bundles can collide."""
    digest = hashlib.sha256()
    for bundle_file in sorted(files, key=lambda item: item.path):
        path = bundle_file.path.encode("utf-8")
        digest.update(b"%d:%s\n%d:" % (len(path), path, len(bundle_file.content)))
        digest.update(bundle_file.content)
    return digest.hexdigest()


def bundle_digest() -> str:
    """Digest of the bundle as it is on disk now; stored with every decision."""
    return digest_files(read_bundle())


def data_document(files: Iterable[BundleFile]) -> dict[str, Any]:
    """All data.json files merged into one document, each under its directory path (as OPA does)."""
    document: dict[str, Any] = {}
    for bundle_file in files:
        if not bundle_file.is_data:
            continue
        value = json.loads(bundle_file.content)
        for segment in reversed(PurePosixPath(bundle_file.path).parent.parts):
            value = {segment: value}
        _merge_into(document, value, where=bundle_file.path)
    return document


def _merge_into(target: dict[str, Any], source: Mapping[str, Any], *, where: str) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, Mapping):
            _merge_into(existing, value, where=where)
        elif key in target:
            raise BundleError(f"{where}: data key {key!r} is already defined by another data file")
        else:
            target[key] = value


def build_engine(*, files: Iterable[BundleFile], include_tests: bool) -> regorus.Engine:
    """A regorus engine with the bundle's modules and data; it may only be used by the creating thread."""
    selected = tuple(files)
    engine = regorus.Engine()
    try:
        for bundle_file in selected:
            if bundle_file.is_rego and (include_tests or not bundle_file.is_test):
                engine.add_policy(bundle_file.path, bundle_file.text)
        engine.add_data_json(json.dumps(data_document(selected)))
    except RuntimeError as exc:
        raise BundleError(first_paragraph(str(exc))) from exc
    return engine


def first_paragraph(message: str) -> str:
    """regorus errors carry a Rust backtrace when RUST_BACKTRACE is set; keep only the diagnostic."""
    return message.split("Stack backtrace:", 1)[0].strip()
