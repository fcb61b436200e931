"""Learning curve: routing quality against examples per department, today's router beside the new.

    python -m bench.routing_curve [--ks 0,1,3,5,10,all] [--seeds 3] [--cities a,b]
                                  [--noise 0.15,0.30] [--out bench/results/routing_curve.json]

For each city (the shipped sample, and every ``tests/data/kb/<city>.yaml`` with a
``<city>.cases.jsonl`` beside it) and each k, every department keeps k example phrases
per language, drawn at random (seeded; several draws, averaged); FAQ questions and the
operator's examples are kept (they are not department examples). Each subsampled KB is
routed by three routers, built in the same run:

- ``today``: the router before the catalogue (``ScoringConfig(catalogue=False)``);
- ``catalogue_inferred``: the catalogue through the links the router infers itself (any
  links the KB declares are removed first: a city's first KB has none);
- ``catalogue_declared``: the catalogue through declared links: the KB's own, or (for a
  KB that declares none) the links the router infers on the full KB, declared as a city
  does after confirming ``voicebot kb suggest``; then subsampled like the others.

Then, on the full KBs, the same cases with simulated recognition errors at each WER of
``--noise`` (``voicebot/routing/asr_noise.py``, seeded). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.asr_noise import NoiseModel, word_error_rate
from voicebot.routing.embedders import Embedder, create_embedder
from voicebot.routing.evaluation import Case, evaluate, load_cases, shipped_case_files
from voicebot.routing.router import Router, ScoringConfig

ROOT = Path(__file__).resolve().parent.parent
KB_DIR = ROOT / "tests" / "data" / "kb"
VARIANTS: dict[str, ScoringConfig] = {
    "today": ScoringConfig(catalogue=False),
    "catalogue_inferred": ScoringConfig(),
    "catalogue_declared": ScoringConfig(infer_links=False),
}


def cities() -> dict[str, tuple[KnowledgeBase, list[Case]]]:
    """Every city with a KB and an evaluation set."""
    found = {"sample": (load_kb(sample_kb_path()), load_cases(shipped_case_files()))}
    for cases in sorted(KB_DIR.glob("*.cases.jsonl")):
        kb_path = cases.with_name(cases.name.removesuffix(".cases.jsonl") + ".yaml")
        if kb_path.is_file():
            found[kb_path.stem] = (load_kb(kb_path), load_cases([cases]))
    return found


def subsample(kb: KnowledgeBase, k: int | None, seed: int) -> KnowledgeBase:
    """``kb`` with at most ``k`` examples per department and language (None: all)."""
    if k is None:
        return kb
    rng = random.Random(seed)
    departments = tuple(
        dataclasses.replace(
            dept,
            examples={
                lang: tuple(rng.sample(list(items), min(k, len(items))))
                for lang, items in dept.examples.items()
                if k > 0
            },
        )
        for dept in kb.departments
    )
    return dataclasses.replace(
        kb, departments=departments, content_hash=f"{kb.content_hash}:{k}:{seed}"
    )


def without_links(kb: KnowledgeBase) -> KnowledgeBase:
    """``kb`` as a city's first version: no declared catalogue links."""
    return dataclasses.replace(
        kb,
        departments=tuple(dataclasses.replace(d, services=()) for d in kb.departments),
        faq=tuple(dataclasses.replace(f, intent=None) for f in kb.faq),
        content_hash=kb.content_hash + ":unlinked",
    )


def confirmed(kb: KnowledgeBase, embedder: Embedder, cache: Path) -> KnowledgeBase:
    """``kb`` with the links the router infers on it declared, as a city confirming
    ``voicebot kb suggest`` would do (an FAQ entry takes its most confident intent)."""
    links = Router.build(without_links(kb), embedder, cache).links
    assert links is not None, "the catalogue is not installed"
    departments = tuple(
        dataclasses.replace(
            d, services=tuple(name for link in links.of_target(d.id) for name in link.declarable)
        )
        for d in kb.departments
    )
    faq = []
    for entry in kb.faq:
        held = sorted(links.of_target(f"faq:{entry.id}"), key=lambda link: -link.confidence)
        faq.append(dataclasses.replace(entry, intent=held[0].catalogue_id if held else None))
    return dataclasses.replace(
        kb, departments=departments, faq=tuple(faq), content_hash=kb.content_hash + ":confirmed"
    )


def declares_links(kb: KnowledgeBase) -> bool:
    """Whether any department or FAQ entry of ``kb`` declares a catalogue link."""
    return any(d.services for d in kb.departments) or any(f.intent for f in kb.faq)


def examples_per_department(kb: KnowledgeBase) -> float:
    """Median number of examples per department (all languages together)."""
    return statistics.median(sum(len(v) for v in d.examples.values()) for d in kb.departments)


def run_point(
    kb: KnowledgeBase, cases: list[Case], variant: str, embedder: Embedder, cache: Path
) -> dict[str, float]:
    """Build one router and evaluate it."""
    if variant == "catalogue_inferred":
        kb = without_links(kb)
    started = time.perf_counter()
    router = Router.build(kb, embedder, cache, VARIANTS[variant])
    build_s = time.perf_counter() - started
    report = evaluate(router, cases)
    return {
        "accuracy": report.accuracy,
        "oos_recall": report.oos_recall,
        "false_rejection": report.false_rejection,
        "p50_ms": report.p50_ms,
        "p95_ms": report.p95_ms,
        "build_s": round(build_s, 2),
        "inferred_links": len(router.links.inferred) if router.links else 0,
    }


def mean_of(points: list[dict[str, float]]) -> dict[str, float]:
    """Figure by figure mean over the draws, with the range of top-1."""
    keys = points[0].keys()
    out = {key: round(statistics.fmean(p[key] for p in points), 4) for key in keys}
    out["accuracy_min"] = min(p["accuracy"] for p in points)
    out["accuracy_max"] = max(p["accuracy"] for p in points)
    return out


def noisy(cases: list[Case], wer: float, seed: int) -> tuple[list[Case], float]:
    """The cases as a recogniser at ``wer`` might have heard them, and the measured WER."""
    model = NoiseModel(wer, seed)
    heard = [dataclasses.replace(c, text=model.corrupt(c.text, c.lang)) for c in cases]
    measured = word_error_rate([c.text for c in cases], [c.text for c in heard])
    return heard, round(measured, 4)


def markdown(results: dict[str, Any]) -> str:
    """The tables of docs/benchmarks.md from a results file."""
    lines: list[str] = []
    for name, city in results["cities"].items():
        lines += [
            "",
            f"**{name}** ({city['cases']} cases, {city['out_of_scope']} out of scope; "
            f"full KB: median {city['examples_per_department_full']:g} examples per department)",
            "",
            "| examples per department and language | router | top-1 (min–max) | OOS recall | "
            "false rejection |",
            "|---|---|---|---|---|",
        ]
        for k, row in city["curve"].items():
            for variant, f in row.items():
                spread = (
                    f" ({f['accuracy_min']:.3f}–{f['accuracy_max']:.3f})"
                    if f["accuracy_min"] != f["accuracy_max"]
                    else ""
                )
                lines.append(
                    f"| {k} | {variant} | {f['accuracy']:.3f}{spread} | {f['oos_recall']:.3f} | "
                    f"{f['false_rejection']:.3f} |"
                )
        if city["noise"]:
            lines += [
                "",
                "| simulated WER (measured) | router | top-1 | drop vs clean | OOS recall | "
                "false rejection |",
                "|---|---|---|---|---|---|",
            ]
            clean = city["curve"].get("all", {})
            for wer, entry in city["noise"].items():
                for variant, f in entry.items():
                    if variant == "measured_wer":
                        continue
                    base = clean.get(variant, {}).get("accuracy")
                    drop = f"{100 * (base - f['accuracy']):+.1f} pts" if base is not None else ""
                    lines.append(
                        f"| {wer} ({entry['measured_wer']:.3f}) | {variant} | "
                        f"{f['accuracy']:.3f} | {drop} | {f['oos_recall']:.3f} | "
                        f"{f['false_rejection']:.3f} |"
                    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--ks", default="0,1,3,5,10,all")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cities", help="comma-separated subset (default: all)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--noise", default="0.15,0.30", help="WERs for the noisy runs ('' for none)"
    )
    parser.add_argument("--backend", default="use-v3")
    parser.add_argument(
        "--cache", type=Path, default=ROOT / "var" / "bench" / "cache" / "routing-curve"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--report", type=Path, help="print a results file as Markdown tables")
    args = parser.parse_args(argv)
    if args.report:
        print(markdown(json.loads(args.report.read_text(encoding="utf-8"))))
        return 0
    ks: list[int | None] = [None if k == "all" else int(k) for k in args.ks.split(",") if k]
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    all_cities = cities()
    chosen = args.cities.split(",") if args.cities else list(all_cities)
    embedder = create_embedder(args.backend)
    args.cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"ks": args.ks, "seeds": args.seeds, "cities": {}}
    for name in chosen:
        kb, cases = all_cities[name]
        declared_kb = kb if declares_links(kb) else confirmed(kb, embedder, args.cache)
        city: dict[str, Any] = {
            "cases": len(cases),
            "out_of_scope": sum(c.expected == "none" for c in cases),
            "examples_per_department_full": examples_per_department(kb),
            "declares_links": declares_links(kb),
            "declared_links_used": {d.id: list(d.services) for d in declared_kb.departments},
            "curve": {},
            "noise": {},
        }
        for k in ks:
            label = "all" if k is None else str(k)
            seeds = [0] if k is None else list(range(args.seeds))
            row: dict[str, Any] = {}
            for variant in variants:
                source = declared_kb if variant == "catalogue_declared" else kb
                points = [
                    run_point(subsample(source, k, seed), cases, variant, embedder, args.cache)
                    for seed in seeds
                ]
                row[variant] = mean_of(points)
                print(f"{name:24s} k={label:>3s} {variant:20s} {_line(row[variant])}", flush=True)
            city["curve"][label] = row
        for wer_text in [w for w in args.noise.split(",") if w]:
            wer = float(wer_text)
            heard, measured = noisy(cases, wer, seed=1)
            entry: dict[str, Any] = {"measured_wer": measured}
            for variant in variants:
                source = declared_kb if variant == "catalogue_declared" else kb
                entry[variant] = run_point(source, heard, variant, embedder, args.cache)
                where = f"{name:24s} wer={wer:.2f} ({measured:.3f})"
                print(f"{where} {variant:20s} {_line(entry[variant])}", flush=True)
            city["noise"][wer_text] = entry
        results["cities"][name] = city
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _line(figures: dict[str, float]) -> str:
    return (
        f"top1 {figures['accuracy']:.3f} oos {figures['oos_recall']:.3f} "
        f"fr {figures['false_rejection']:.3f} p50 {figures['p50_ms']:.1f} ms "
        f"build {figures['build_s']:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
