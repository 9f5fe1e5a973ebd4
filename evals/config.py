"""The evals config: one YAML file (`kefu eval --config evals.yaml`), every field optional.

```yaml
suites: [nlu, scenarios, latency]    # what a plain `kefu eval` runs (default: every default suite)
repeat: 3                            # runs per conversation, for pass^k
assistant:                           # the assistant under test: fields of kefu's Config
  brain: {kind: openai, base_url: http://localhost:8000/v1, model: qwen2.5-7b-instruct}
datasets: ../shared/datasets         # default: $KEFU_DATASETS or shared/datasets beside the repo
thresholds:                          # for `kefu eval compare`: the largest allowed worsening
  scenarios.success_rate: 0.02       #   absolute (rates are fractions)
  latency.total_p95_ms: 25%          #   or relative to the baseline
  "nlu.*": 0.01                      #   glob patterns match several metrics
options:                             # per suite
  scenarios: {paths: [my_scenarios/], tags: [cancel]}
  tau_bench: {user: {base_url: http://localhost:8000/v1, model: qwen2.5-7b-instruct}, tasks: "0-9"}
```
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

ThresholdValue = float | str


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suites: list[str] | None = None
    """Suites a plain `kefu eval` runs; None: every suite marked default (built in and plugins)."""
    repeat: int = Field(default=1, ge=1)
    """Runs of each conversation (scenarios, τ-bench), for pass^k."""
    assistant: dict[str, Any] = Field(default_factory=dict)
    """kefu `Config` fields for the assistant under test (shop, data_dir and sessions are set per run)."""
    datasets: Path | None = None
    """The shared datasets folder; default: found (see `default_datasets_dir`)."""
    thresholds: dict[str, ThresholdValue] = Field(default_factory=dict)
    """Metric name or glob → the largest allowed worsening: a number, or a percentage string ("5%")."""
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Suite name → that suite's settings."""
    _base_dir: Path | None = PrivateAttr(default=None)

    def resolve(self, path: str | Path) -> Path:
        """A path from the config file, taken relative to the file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() or self._base_dir is None else (self._base_dir / p).resolve()

    @field_validator("thresholds")
    @classmethod
    def _check_thresholds(cls, value: dict[str, ThresholdValue]) -> dict[str, ThresholdValue]:
        for name, limit in value.items():
            parse_threshold(limit, name)
        return value

    def threshold_for(self, metric: str) -> ThresholdValue | None:
        """The threshold of `metric`: an exact key first, then the first glob that matches."""
        if metric in self.thresholds:
            return self.thresholds[metric]
        for pattern, limit in self.thresholds.items():
            if fnmatch.fnmatchcase(metric, pattern):
                return limit
        return None


def parse_threshold(limit: ThresholdValue, name: str = "threshold") -> tuple[float, bool]:
    """(amount, relative): 0.02 → (0.02, False); "5%" → (0.05, True)."""
    if isinstance(limit, bool):
        raise ValueError(f"{name}: a threshold is a number or a percentage, not {limit!r}")
    if isinstance(limit, int | float):
        if limit < 0:
            raise ValueError(f"{name}: a threshold cannot be negative")
        return float(limit), False
    text = str(limit).strip()
    try:
        if text.endswith("%"):
            amount = float(text[:-1]) / 100
            relative = True
        else:
            amount, relative = float(text), False
    except ValueError:
        raise ValueError(f"{name}: {limit!r} is neither a number nor a percentage like '5%'") from None
    if amount < 0:
        raise ValueError(f"{name}: a threshold cannot be negative")
    return amount, relative


def load_eval_config(source: str | Path | dict[str, Any] | None = None) -> EvalConfig:
    """From a YAML file, a dict, or nothing (defaults). Relative paths are taken from the file's folder."""
    if source is None:
        return EvalConfig()
    if isinstance(source, dict):
        return EvalConfig.model_validate(source)
    path = Path(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the evals config must hold a mapping")
    config = EvalConfig.model_validate(data)
    config._base_dir = path.resolve().parent
    if config.datasets is not None:
        config.datasets = config.resolve(config.datasets)
    return config
