"""Routing benchmark: quality and speed of each embedding backend, side by side in one run.

    python -m bench.routing [--quick] [--variants blend,lexical_only] [--cache DIR]

For each backend (multilingual USE v3, all-MiniLM-L6-v2) and each scoring variant
(the blend, nearest neighbours only, lexical only as a keyword-style baseline), evaluates
the shipped sample KB on its evaluation set and the Saint-Germain-en-Laye KB on its
(never tuned on) case set; then measures throughput and, in a fresh process, the time
to load a cached index and answer the first query. Prints one JSON object.

``--cache DIR`` keeps the embedding index between runs (``build_s`` then times a cached
build, as a restart does); without it every run builds from scratch (``build_uncached_s``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.routing.embedders import MINILM, USE_V3, create_embedder
from voicebot.routing.evaluation import evaluate, load_cases, shipped_case_files
from voicebot.routing.router import Router, ScoringConfig

ROOT = Path(__file__).resolve().parent.parent
OTHER_KB = ROOT / "tests" / "data" / "kb" / "saint-germain-en-laye.yaml"
OTHER_CASES = ROOT / "tests" / "data" / "kb" / "saint-germain-en-laye.cases.jsonl"

# The variants before the catalogue keep their names (catalogue=False); "catalogue" is the
# router as shipped (docs/decisions/routing-catalogue.md).
VARIANTS = {
    "catalogue": ScoringConfig(),
    "catalogue_knn_only": ScoringConfig(classifier_weight=0.0),
    "blend": ScoringConfig(catalogue=False),
    "blend_no_filler_stripping": ScoringConfig(catalogue=False, strip_fillers=False),
    "blend_no_centroid": ScoringConfig(catalogue=False, centroid_weight=0.0),
    "blend_no_negative_class": ScoringConfig(catalogue=False, negatives_as_class=False),
    "knn_only": ScoringConfig(catalogue=False, classifier_weight=0.0),
    "lexical_only": ScoringConfig(
        catalogue=False,
        dense_weight=0.0,
        centroid_weight=0.0,
        lexical_weight=1.0,
        classifier_weight=0.0,
    ),
}

FIRST_QUERY = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from voicebot.knowledge.loader import load_kb
from voicebot.routing.embedders import create_embedder
from voicebot.routing.router import Router
t_import = time.perf_counter()
embedder = create_embedder(sys.argv[1])
t_model = time.perf_counter()
router = Router.build(load_kb(sys.argv[2]), embedder, cache_dir=Path(sys.argv[3]))
decision = router.route("bonjour je voudrais renouveler ma carte d identité", "fr")
t_done = time.perf_counter()
print(t_import - t0, t_model - t_import, t_done - t_model)
"""


def first_query_seconds(backend: str, cache: Path) -> dict[str, float]:
    """Fresh process: import, model load, and cached index load + first query, in seconds."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_QUERY, backend, str(sample_kb_path()), str(cache)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    imports, model, index_and_query = (float(x) for x in out)
    return {
        "imports_s": round(imports, 3),
        "model_load_s": round(model, 3),
        "cached_index_load_and_first_query_s": round(index_and_query, 3),
    }


def throughput(router: Router, texts: list[str], seconds: float = 3.0) -> float:
    """Sequential single-utterance queries per second."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        router.route(texts[done % len(texts)], "fr")
        done += 1
    return round(done / (time.perf_counter() - start), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="catalogue variant only")
    parser.add_argument(
        "--variants",
        type=lambda text: [name for name in text.split(",") if name],
        help=f"comma-separated subset of: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--cache", type=Path, help="persistent index cache directory")
    args = parser.parse_args()
    unknown = sorted(set(args.variants or []) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    sample_cases = load_cases(shipped_case_files())
    other_cases = load_cases([OTHER_CASES])
    results: dict[str, object] = {}
    build_key = "build_s" if args.cache else "build_uncached_s"
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        for backend in (USE_V3, MINILM):
            embedder = create_embedder(backend)
            per_backend: dict[str, object] = {}
            for name, config in VARIANTS.items():
                if (args.quick and name != "catalogue") or (
                    args.variants and name not in args.variants
                ):
                    continue
                row: dict[str, object] = {}
                for label, kb_path, cases in (
                    ("sample", sample_kb_path(), sample_cases),
                    ("unseen_city", OTHER_KB, other_cases),
                ):
                    started = time.perf_counter()
                    router = Router.build(load_kb(kb_path), embedder, cache, config)
                    build_s = time.perf_counter() - started
                    report = evaluate(router, cases)
                    row[label] = {
                        "accuracy": report.accuracy,
                        "oos_recall": report.oos_recall,
                        "false_rejection": report.false_rejection,
                        "p50_ms": report.p50_ms,
                        "p95_ms": report.p95_ms,
                        "n": report.n,
                        build_key: round(build_s, 2),
                    }
                    if label == "sample" and name == "catalogue":
                        row["queries_per_s"] = throughput(router, [c.text for c in cases])
                per_backend[name] = row
            per_backend["fresh_process"] = first_query_seconds(backend, cache)
            results[backend] = per_backend
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
