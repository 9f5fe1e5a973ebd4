"""results.json: the machine-readable record of one evaluation run, and where it was made.

```json
{"format": "kefu-eval/1", "created": "...", "seconds": 312.4,
 "kefu": "0.4.0", "git": {"commit": "ca65c1f…", "dirty": true}, "versions": {"python": "3.11.9", ...},
 "machine": {...}, "command": "kefu eval …", "config": {...},
 "suites": {"nlu": {"status": "ok", "metrics": {"accuracy": {"value": 0.93, "better": "higher", ...}},
                    "tables": [...], "figures": [...], "cases": [...], ...}, ...}}
```
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from kefu.evals.suite import SuiteReport

FORMAT = "kefu-eval/1"
RESULTS_FILE = "results.json"

_PACKAGES = (
    "langchain",
    "langchain-core",
    "langgraph",
    "langchain-openai",
    "pydantic",
    "sqlalchemy",
    "scikit-learn",
    "numpy",
    "implicit",
    "chromadb",
    "sentence-transformers",
    "torch",
)


@dataclass
class RunResults:
    """One run: where and how it was made, and each suite's report."""

    suites: dict[str, SuiteReport] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    """created, seconds, kefu, git, versions, machine, command, config."""

    def metrics(self) -> dict[str, float]:
        """Flat "suite.metric" → value over the suites that ran."""
        return {
            f"{name}.{metric}": m.value
            for name, report in self.suites.items()
            for metric, m in report.metrics.items()
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            **self.info,
            "metrics": self.metrics(),
            "suites": {name: r.as_dict() for name, r in self.suites.items()},
        }


def write_results(results: RunResults, run_dir: Path) -> Path:
    path = run_dir / RESULTS_FILE
    path.write_text(json.dumps(results.as_dict(), indent=1, default=_json_default) + "\n", encoding="utf-8")
    return path


def load_results(path: str | Path) -> RunResults:
    """A run from its folder or its results.json."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    if not p.is_file():
        raise FileNotFoundError(f"no {RESULTS_FILE} at {p}")
    data = json.loads(p.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{p}: not a kefu evaluation result (format {data.get('format')!r})")
    info = {k: v for k, v in data.items() if k not in ("format", "suites", "metrics")}
    suites = {name: SuiteReport.from_dict(s) for name, s in data.get("suites", {}).items()}
    return RunResults(suites=suites, info=info)


def environment() -> dict[str, Any]:
    """kefu's version, the git commit of its source tree, package versions and the machine."""
    from kefu import __version__

    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "kefu": __version__,
        "git": git_commit(),
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load,
        },
    }


def git_commit(directory: Path | None = None) -> dict[str, Any] | None:
    """The commit of the git checkout kefu runs from (and whether it has changes); None outside one."""
    import kefu

    where = directory or Path(kefu.__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # read only: never refresh the index
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to results.json")
