"""The public data sets under ../shared/datasets, read into train and test splits.

Official splits are used where a set has one (BANKING77, CLINC150, HarmBench val/test, BIPIA, the
Self-Reminder templates); elsewhere a seeded split is made here and is the same on every run: AdvBench
behaviours 50/50, JailbreakBench by behaviour (50 behaviours train, 50 test, so no test goal is seen in
training), Davidson 80/20 stratified by class, Bitext 80/20 stratified by intent. XSTest is a test suite
and CrowS-Pairs is evaluation-only by licence and by its authors' wish: neither is ever read for training.

Only training splits reach `train.py`; test splits reach `evaluate.py`.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SEED = 20240611
_HERE = Path(__file__).resolve()


def default_root() -> Path:
    """`$KEFU_DATASETS`, else `../shared/datasets` beside the repository."""
    env = os.environ.get("KEFU_DATASETS")
    if env:
        return Path(env)
    return _HERE.parents[3] / "shared" / "datasets"


class DatasetsMissing(FileNotFoundError):
    """The shared data sets are not on this machine."""


@dataclass(frozen=True)
class Split:
    train: list[str]
    test: list[str]


def _require(root: Path, name: str) -> Path:
    path = root / name
    if not path.is_dir():
        raise DatasetsMissing(
            f"{path} not found: point --data (or KEFU_DATASETS) at the shared datasets folder"
        )
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _seeded_half(items: list[str], salt: str, train_fraction: float = 0.5) -> Split:
    order = list(range(len(items)))
    random.Random(f"{SEED}-{salt}").shuffle(order)
    cut = int(round(len(items) * train_fraction))
    return Split([items[i] for i in sorted(order[:cut])], [items[i] for i in sorted(order[cut:])])


def _stratified(rows: list[tuple[str, str]], salt: str, train_fraction: float) -> tuple[list, list]:
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    train, test = [], []
    for label in sorted(by_label):
        group = by_label[label]
        random.Random(f"{SEED}-{salt}-{label}").shuffle(group)
        cut = int(round(len(group) * train_fraction))
        train += group[:cut]
        test += group[cut:]
    return train, test


def normalized_key(text: str) -> str:
    """Lower-case letters and digits only: two texts with the same key are duplicates across splits."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def without(texts: Iterable[str], banned: Iterable[str]) -> list[str]:
    """`texts` minus any whose normalised form is in `banned` (keeps test items out of training)."""
    keys = {normalized_key(t) for t in banned}
    return [t for t in texts if normalized_key(t) not in keys]


class Datasets:
    """Loaders for each set, by split."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def exists(self) -> bool:
        return (self.root / "safety_advbench").is_dir()

    # --- benign customer text ---------------------------------------------------------------------
    def banking77(self) -> Split:
        base = _require(self.root, "banking77")
        return Split(
            [r["text"] for r in _csv(base / "train.csv")], [r["text"] for r in _csv(base / "test.csv")]
        )

    def clinc150(self) -> tuple[Split, dict[str, list[str]]]:
        """In-scope train/test queries, and the train queries by domain."""
        base = _require(self.root, "clinc150")
        data = json.loads((base / "data_full.json").read_text(encoding="utf-8"))
        domains = json.loads((base / "domains.json").read_text(encoding="utf-8"))
        intent_domain = {intent: d for d, intents in domains.items() for intent in intents}
        by_domain: dict[str, list[str]] = defaultdict(list)
        for text, intent in data["train"]:
            by_domain[intent_domain.get(intent, "other")].append(text)
        train = [t for t, _ in data["train"]] + [t for t, _ in data["oos_train"]]
        test = [t for t, _ in data["test"]] + [t for t, _ in data["oos_test"]]
        return Split(train, test), dict(by_domain)

    def clinc150_out_of_scope(self) -> list[str]:
        """CLINC150's out-of-scope train and val queries (general questions no intent covers; no test)."""
        base = _require(self.root, "clinc150")
        data = json.loads((base / "data_full.json").read_text(encoding="utf-8"))
        return [t for t, _ in data["oos_train"]] + [t for t, _ in data["oos_val"]]

    def bitext(self) -> tuple[Split, Split]:
        """(customer instructions, assistant responses), 80/20 stratified by intent."""
        base = _require(self.root, "bitext_customer_support")
        rows = _csv(base / "bitext_customer_support_4514.csv")
        pairs = [(f"{i}", r["intent"]) for i, r in enumerate(rows)]
        train, test = _stratified(pairs, "bitext", 0.8)
        tr = [rows[int(i)] for i, _ in train]
        te = [rows[int(i)] for i, _ in test]
        return (
            Split([r["instruction"] for r in tr], [r["instruction"] for r in te]),
            Split([r["response"] for r in tr], [r["response"] for r in te]),
        )

    # --- attacks ----------------------------------------------------------------------------------
    def advbench(self) -> Split:
        base = _require(self.root, "safety_advbench")
        goals = [r["goal"] for r in _csv(base / "harmful_behaviors.csv")]
        return _seeded_half(goals, "advbench")

    def harmbench(self) -> tuple[list[str], dict[str, list[str]]]:
        """(val behaviours for training, test behaviours by functional category)."""
        base = _require(self.root, "safety_harmbench")

        def text(row: dict[str, str]) -> str:
            context = (row.get("ContextString") or "").strip()
            return f"{context}\n\n{row['Behavior']}" if context else row["Behavior"]

        train = [text(r) for r in _csv(base / "harmbench_behaviors_text_val.csv")]
        test: dict[str, list[str]] = defaultdict(list)
        for r in _csv(base / "harmbench_behaviors_text_test.csv"):
            test[r["FunctionalCategory"]].append(text(r))
        return train, dict(test)

    def harmbench_val_requests(self) -> list[str]:
        """The request sentence alone of each HarmBench val behaviour that comes with a context paragraph
        (training only): the input check also scores a long message's first and last paragraph alone."""
        base = _require(self.root, "safety_harmbench")
        return [
            r["Behavior"]
            for r in _csv(base / "harmbench_behaviors_text_val.csv")
            if (r.get("ContextString") or "").strip()
        ]

    def jailbreakbench(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(train, test) JailbreakBench texts: 'goals' and 'prompts', split by behaviour index."""
        base = _require(self.root, "safety_jailbreak_prompts") / "jailbreakbench"
        goals = json.loads((base / "jbb_harmful_behaviors_100.json").read_text(encoding="utf-8"))
        indices = sorted({int(g["index"]) for g in goals})
        random.Random(f"{SEED}-jbb").shuffle(indices)
        train_idx = set(indices[: len(indices) // 2])
        out: tuple[dict[str, list[str]], dict[str, list[str]]] = (
            {"goals": [], "prompts": []},
            {"goals": [], "prompts": []},
        )
        for g in goals:
            out[0 if int(g["index"]) in train_idx else 1]["goals"].append(g["goal"])
        with (base / "jbb_attack_prompts.jsonl").open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row.get("prompt"):
                    out[0 if int(row["index"]) in train_idx else 1]["prompts"].append(row["prompt"])
        return out

    def self_reminder(self) -> tuple[list[str], list[str]]:
        """Jailbreak templates filled with goals: (train templates × train goals, test + in-the-wild × test goals)."""
        base = _require(self.root, "safety_jailbreak_prompts") / "self_reminder"

        def goals(name: str) -> list[str]:
            items = json.loads((base / name).read_text(encoding="utf-8"))
            return [re.sub(r'\s*with the beginning of "YES"\.?', ".", g["prompt"]).strip() for g in items]

        def fill(templates: list[str], goal_list: list[str], salt: str) -> list[str]:
            rng = random.Random(f"{SEED}-{salt}")
            out = []
            for t in templates:
                goal = rng.choice(goal_list)
                filled = re.sub(r"\[INSERT PROMPT HERE\]|\{prompt\}|\[PROMPT\]", goal, t, flags=re.I)
                out.append(filled if filled != t else f"{t}\n{goal}")
            return out

        train_t = [r["prompt"] for r in _csv(base / "jailbreak_prompts_train.csv")]
        test_t = [r["prompt"] for r in _csv(base / "jailbreak_prompts.csv")]
        itw = [r["prompt"] for r in _csv(base / "jailbreak_prompts_itw.csv")]
        return (
            fill(train_t, goals("attack_prompt_train.json"), "sr-train"),
            fill(test_t + itw, goals("attack_prompt_raw.json"), "sr-test"),
        )

    def bipia(self) -> tuple[dict[str, list], dict[str, list]]:
        """(train, test): 'emails' (context texts) and 'attacks' (injected instructions)."""
        base = _require(self.root, "safety_bipia_indirect_injection")

        def emails(name: str) -> list[str]:
            with (base / name).open(encoding="utf-8") as f:
                return [json.loads(line)["context"] for line in f if line.strip()]

        def attacks(name: str) -> list[str]:
            data = json.loads((base / name).read_text(encoding="utf-8"))
            return [a for group in data.values() for a in group]

        return (
            {"emails": emails("email_train.jsonl"), "attacks": attacks("text_attack_train.json")},
            {"emails": emails("email_test.jsonl"), "attacks": attacks("text_attack_test.json")},
        )

    def davidson(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Tweets with class 0 hate / 1 offensive / 2 neither, 80/20 stratified by class."""
        base = _require(self.root, "safety_davidson_hate_offensive")
        rows = [(r["tweet"], r["class"]) for r in _csv(base / "labeled_data.csv")]
        train, test = _stratified(rows, "davidson", 0.8)
        return [(t, int(c)) for t, c in train], [(t, int(c)) for t, c in test]

    def xstest(self) -> dict[str, list[str]]:
        """Test only: 'safe' and 'unsafe' prompts."""
        base = _require(self.root, "safety_xstest")
        out: dict[str, list[str]] = {"safe": [], "unsafe": []}
        for r in _csv(base / "xstest_prompts.csv"):
            out[r["label"]].append(r["prompt"])
        return out

    def crows_pairs(self) -> list[tuple[str, str, str]]:
        """Evaluation only: (more stereotypical sentence, less stereotypical sentence, bias type)."""
        base = _require(self.root, "safety_crows_pairs")
        return [
            (r["sent_more"], r["sent_less"], r["bias_type"])
            for r in _csv(base / "crows_pairs_anonymized.csv")
        ]

    def abcd_guidelines(self) -> list[str]:
        """Agent-guideline sentences (MIT): benign policy-like text for the tool-output check."""
        base = _require(self.root, "abcd_policies_sample")
        data = json.loads((base / "guidelines.json").read_text(encoding="utf-8"))
        out: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, str):
                if len(node.split()) >= 4:
                    out.append(node)
            elif isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(data)
        return out
