"""Routing evaluation: accuracy, out-of-scope recall, false rejections and latency on a case set."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.routing.decision import NONE
from voicebot.routing.router import Router

REQUIRED_KEYS = frozenset({"text", "expected", "lang"})


class CaseFileError(ValueError):
    """A case file line is unusable; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Case:
    """One utterance and the label it should get."""

    text: str
    expected: str
    lang: str


@dataclass(frozen=True, slots=True)
class Miss:
    """A case the router got wrong."""

    case: Case
    got: str
    score: float


@dataclass(slots=True)
class EvalReport:
    """Figures of one evaluation run."""

    n: int
    n_in_scope: int
    n_out_of_scope: int
    accuracy: float
    """In-scope top-1 accuracy (a wrongly rejected in-scope case counts as a miss)."""
    oos_recall: float
    """Share of out-of-scope cases rejected."""
    false_rejection: float
    """Share of in-scope cases rejected as out of scope."""
    p50_ms: float
    p95_ms: float
    backend: str
    misses: list[Miss] = field(default_factory=list)
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object (the keys the CLI's ``--json`` promises)."""
        return {
            "accuracy": self.accuracy,
            "oos_recall": self.oos_recall,
            "false_rejection": self.false_rejection,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "n": self.n,
            "n_in_scope": self.n_in_scope,
            "n_out_of_scope": self.n_out_of_scope,
            "backend": self.backend,
            "per_language": self.per_language,
            "misses": [
                {"text": m.case.text, "expected": m.case.expected, "got": m.got, "score": m.score}
                for m in self.misses
            ],
        }

    def to_text(self) -> str:
        """A human-readable report with the confusion list."""
        lines = [
            f"backend: {self.backend}",
            f"cases: {self.n} ({self.n_in_scope} in scope, {self.n_out_of_scope} out of scope)",
            f"in-scope top-1 accuracy: {self.accuracy:.3f}",
            f"out-of-scope recall:     {self.oos_recall:.3f}",
            f"false rejection rate:    {self.false_rejection:.3f}",
            f"latency per query:       p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms",
        ]
        for lang, figures in sorted(self.per_language.items()):
            parts = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
            lines.append(f"  {lang}: {parts}")
        if self.misses:
            lines.append(f"misses ({len(self.misses)}):")
            lines.extend(
                f"  expected {m.case.expected:<24} got {m.got:<24} ({m.score:.3f}) {m.case.text}"
                for m in self.misses
            )
        return "\n".join(lines)


def load_cases(paths: Sequence[Path]) -> list[Case]:
    """Read JSON Lines case files; each line ``{"text", "expected", "lang"}``."""
    cases: list[Case] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CaseFileError(f"{path}: cannot read: {exc}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseFileError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            if not isinstance(data, dict) or set(data) != REQUIRED_KEYS:
                raise CaseFileError(
                    f"{path}:{number}: expected exactly the keys text, expected, lang"
                )
            if not all(isinstance(data[key], str) for key in REQUIRED_KEYS):
                raise CaseFileError(f"{path}:{number}: text, expected and lang must be strings")
            cases.append(Case(data["text"], data["expected"], data["lang"]))
    return cases


def shipped_case_files() -> list[Path]:
    """The project's own evaluation set for the sample KB."""
    folder = resources.files("voicebot.routing").joinpath("evalsets")
    return sorted(Path(str(folder)).glob("woluwe-saint-pierre.*.jsonl"))


def check_labels(router: Router, cases: Sequence[Case]) -> None:
    """Fail early when a case expects a label the KB does not have."""
    known = set(router.index.labels) | {NONE}
    unknown = sorted({c.expected for c in cases} - known)
    if unknown:
        raise CaseFileError(f"labels not in the knowledge base: {', '.join(unknown)}")


def evaluate(router: Router, cases: Sequence[Case], warmup: int = 5) -> EvalReport:
    """Route every case one at a time (as calls do) and compute the figures."""
    check_labels(router, cases)
    for case in cases[:warmup]:
        router.route(case.text, case.lang)
    latencies: list[float] = []
    decisions = []
    for case in cases:
        start = time.perf_counter()
        decisions.append(router.route(case.text, case.lang))
        latencies.append((time.perf_counter() - start) * 1000)
    misses = [
        Miss(case, decision.label, decision.score)
        for case, decision in zip(cases, decisions, strict=True)
        if decision.label != case.expected
    ]
    figures = _figures(cases, [d.label for d in decisions])
    per_language = {
        lang: _figures(
            [c for c in cases if c.lang == lang],
            [d.label for c, d in zip(cases, decisions, strict=True) if c.lang == lang],
        )
        for lang in sorted({c.lang for c in cases})
    }
    in_scope = sum(1 for c in cases if c.expected != NONE)
    return EvalReport(
        n=len(cases),
        n_in_scope=in_scope,
        n_out_of_scope=len(cases) - in_scope,
        accuracy=figures["accuracy"],
        oos_recall=figures["oos_recall"],
        false_rejection=figures["false_rejection"],
        p50_ms=round(float(np.percentile(latencies, 50)), 3),
        p95_ms=round(float(np.percentile(latencies, 95)), 3),
        backend=router.embedder.model_id,
        misses=misses,
        per_language=per_language,
    )


def _figures(cases: Sequence[Case], labels: Sequence[str]) -> dict[str, float]:
    in_scope = [(c, got) for c, got in zip(cases, labels, strict=True) if c.expected != NONE]
    out_scope = [(c, got) for c, got in zip(cases, labels, strict=True) if c.expected == NONE]
    accuracy = sum(got == c.expected for c, got in in_scope) / len(in_scope) if in_scope else 0.0
    rejected = sum(got == NONE for _, got in in_scope) / len(in_scope) if in_scope else 0.0
    recall = sum(got == NONE for _, got in out_scope) / len(out_scope) if out_scope else 0.0
    return {
        "accuracy": round(accuracy, 4),
        "oos_recall": round(recall, 4),
        "false_rejection": round(rejected, 4),
    }
