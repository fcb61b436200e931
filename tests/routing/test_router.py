"""The router on the real USE v3 backend: decisions, rejection, ambiguity, caching, quality."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from voicebot.knowledge.loader import load_kb, parse_kb, sample_kb_path
from voicebot.routing.decision import NONE, RouteKind
from voicebot.routing.embedders import Embedder, Matrix
from voicebot.routing.evaluation import evaluate, load_cases, shipped_case_files
from voicebot.routing.index import ExampleIndex
from voicebot.routing.router import Router, ScoringConfig

DATA = Path(__file__).parent.parent / "data" / "kb"


class CountingEmbedder:
    """Wraps a real embedder and counts how many texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def sample_router(use_embedder: Embedder, router_cache: Path) -> Router:
    return Router.build(load_kb(sample_kb_path()), use_embedder, cache_dir=router_cache)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("combien coûte un passeport", "faq:passport"),
        ("je voudrais parler à quelqu un de l accueil", "operator"),
        ("mes sacs poubelles n ont pas été ramassés ce matin", "waste"),
        ("il y a un nid de poule énorme dans ma rue", "roads"),
        ("quel temps fera t il demain à la mer", NONE),
        ("how much is a passport", "faq:passport"),
    ],
)
def test_clear_requests_route_to_their_target(
    sample_router: Router, text: str, expected: str
) -> None:
    decision = sample_router.route(text, "en" if text.startswith("how") else "fr")
    assert decision.label == expected, decision.candidates


def test_decision_carries_kind_target_and_ranked_candidates(sample_router: Router) -> None:
    decision = sample_router.route("je dois déclarer la naissance de ma fille", "fr")
    assert decision.kind is RouteKind.DEPARTMENT
    assert decision.target == "civil_status"
    scores = [c.score for c in decision.candidates]
    assert scores == sorted(scores, reverse=True)
    assert decision.margin == pytest.approx(scores[0] - scores[1], abs=1e-3)
    assert decision.language == "fr"


def test_punctuated_and_asr_style_inputs_get_the_same_decision(sample_router: Router) -> None:
    written = sample_router.route("Bonjour, j'ai perdu ma carte d'identité !", "fr")
    spoken = sample_router.route("bonjour j ai perdu ma carte d identité", "fr")
    assert written.label == spoken.label
    assert written.score == pytest.approx(spoken.score, abs=1e-4)


def test_empty_or_filler_only_utterance_is_rejected(sample_router: Router) -> None:
    assert sample_router.route("", "fr").label == NONE
    assert sample_router.route("   ", "fr").label == NONE


def test_ambiguity_flag_follows_the_margin(use_embedder: Embedder, router_cache: Path) -> None:
    kb = load_kb(sample_kb_path())
    always = Router.build(kb, use_embedder, router_cache, ScoringConfig(ambiguity_margin=1.0))
    never = Router.build(kb, use_embedder, router_cache, ScoringConfig(ambiguity_margin=0.0))
    text = "je voudrais une carte d identité"
    assert always.route(text, "fr").ambiguous
    assert not never.route(text, "fr").ambiguous


def test_index_is_cached_and_a_changed_kb_rebuilds_it(
    use_embedder: Embedder, tmp_path: Path
) -> None:
    text = (DATA / "minimal.yaml").read_text(encoding="utf-8")
    first = CountingEmbedder(use_embedder)
    ExampleIndex.build(parse_kb(text), first, tmp_path)
    assert first.texts > 0
    again = CountingEmbedder(use_embedder)
    ExampleIndex.build(parse_kb(text), again, tmp_path)
    assert again.texts == 0, "an unchanged KB must load its index from the cache"
    changed = CountingEmbedder(use_embedder)
    ExampleIndex.build(
        parse_kb(text.replace("my bins were not collected", "nobody took my bins")),
        changed,
        tmp_path,
    )
    assert changed.texts > 0, "a changed KB must be re-embedded"


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(
    use_embedder: Embedder, tmp_path: Path
) -> None:
    kb = load_kb(DATA / "minimal.yaml")
    ExampleIndex.build(kb, use_embedder, tmp_path)
    for path in tmp_path.glob("index-*.npy"):
        path.write_bytes(b"not numpy")
    counting = CountingEmbedder(use_embedder)
    index = ExampleIndex.build(kb, counting, tmp_path)
    assert counting.texts == len(index.examples)


def test_calibration_gives_a_threshold_per_offered_language(sample_router: Router) -> None:
    calibration = sample_router.calibration
    assert set(calibration.thresholds) == {"fr", "nl", "en"}
    assert all(0.0 < t < 1.0 for t in calibration.thresholds.values())


def test_quality_on_the_shipped_evaluation_set(sample_router: Router) -> None:
    """The issue's bar on the project's own evaluation set (timings are in the benchmarks)."""
    report = evaluate(sample_router, load_cases(shipped_case_files()))
    assert report.n >= 280
    assert report.accuracy >= 0.95, report.to_text()
    assert report.oos_recall >= 0.90, report.to_text()
    assert report.false_rejection <= 0.05, report.to_text()


def test_quality_holds_on_a_city_it_was_not_tuned_on(
    use_embedder: Embedder, router_cache: Path
) -> None:
    """Saint-Germain-en-Laye: a KB and cases written apart from the sample and never tuned on."""
    router = Router.build(
        load_kb(DATA / "saint-germain-en-laye.yaml"), use_embedder, cache_dir=router_cache
    )
    report = evaluate(router, load_cases([DATA / "saint-germain-en-laye.cases.jsonl"]))
    assert report.accuracy >= 0.70, report.to_text()
    assert report.oos_recall >= 0.85, report.to_text()


def test_nearest_neighbours_alone_are_worse_than_the_blend(
    use_embedder: Embedder, router_cache: Path
) -> None:
    """Keeps the classifier honest: it must earn its place on the evaluation set."""
    kb = load_kb(sample_kb_path())
    cases = load_cases(shipped_case_files())
    blend = evaluate(Router.build(kb, use_embedder, router_cache), cases)
    knn_only = dataclasses.replace(ScoringConfig(), classifier_weight=0.0)
    alone = evaluate(Router.build(kb, use_embedder, router_cache, knn_only), cases)
    assert blend.accuracy > alone.accuracy


def test_an_n_best_list_is_weighed_by_its_weights(sample_router: Router) -> None:
    roads = "il y a un nid de poule énorme dans ma rue"
    waste = "mes sacs poubelles n ont pas été ramassés ce matin"
    assert sample_router.route_alternatives([(roads, 1.0)], "fr").label == "roads"
    assert sample_router.route_alternatives([(roads, 0.9), (waste, 0.1)], "fr").label == "roads"
    assert sample_router.route_alternatives([(roads, 0.1), (waste, 0.9)], "fr").label == "waste"
    single = sample_router.route_alternatives([(roads, 0.5)], "fr")
    assert single.score == pytest.approx(sample_router.route(roads, "fr").score, abs=1e-4)
    assert sample_router.route_alternatives([], "fr").label == NONE
