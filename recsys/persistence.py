"""A saved model is a directory: ``manifest.json`` (versions, config, ids, catalogue) and
``arrays.npz`` (factors, matrices, item signals).

JSON and npz rather than pickle: a model file is data, loading it must not run code, and a person
must be able to read what a model is without loading it. The manifest carries a format version; a
model written in another format is refused with a message that says what to do instead of failing
later with a shape error. Writes go to a temporary sibling directory first and are then renamed
into place, so a reader (or a crash) never sees half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FORMAT = "kefu.recsys.model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"


class IncompatibleModelError(ValueError):
    """The directory holds no model, or one this version of kefu.recsys cannot read."""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def write_model_dir(
    path: str | os.PathLike[str], content: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write ``content`` (JSON-able) and ``arrays`` as a model directory at ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "written_by": {p: _version(p) for p in ("kefu", "implicit", "numpy", "scipy")},
        "arrays": {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()},
        **content,
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with open(staging / ARRAYS, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds poorly
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a model directory, after checking it is one this version reads."""
    source = Path(path)
    manifest_file = source / MANIFEST
    if not manifest_file.is_file():
        raise IncompatibleModelError(f"{source} is not a kefu.recsys model directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IncompatibleModelError(f"{manifest_file} is not valid JSON: {exc}") from exc
    if manifest.get("format") != MODEL_FORMAT:
        raise IncompatibleModelError(
            f"{source} holds {manifest.get('format')!r}, not a {MODEL_FORMAT!r} directory"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        written = (manifest.get("written_by") or {}).get("kefu")
        raise IncompatibleModelError(
            f"{source} was saved in model format {version} (by kefu {written}); this kefu.recsys "
            f"reads format {FORMAT_VERSION} only. Refit the model from events with this version "
            f"(Recommender(config).fit(events).save(path)), or load it with kefu {written}."
        )
    return manifest


def read_model_dir(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, arrays) of a model directory; refuses incompatible or damaged ones."""
    manifest = read_manifest(path)
    with np.load(Path(path) / ARRAYS, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    expected = manifest.get("arrays", {})
    for name, spec in expected.items():
        if name not in arrays or list(arrays[name].shape) != spec["shape"]:
            raise IncompatibleModelError(f"{path}: array {name!r} is missing or has the wrong shape")
    return manifest, arrays
