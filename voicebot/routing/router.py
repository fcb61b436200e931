"""The router: score an utterance against every target, reject what is out of scope.

Generic out-of-scope phrases form a pseudo-target ``none``: an utterance scoring higher
on it than on any real target (by a KB-calibrated margin) is rejected, and so is one
whose nearest-neighbour score is under the language's floor (see ``calibration.py``).
Scoring itself is in ``scoring.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voicebot.knowledge.catalogue_loader import catalogue_available, load_catalogue
from voicebot.knowledge.catalogue_model import Catalogue
from voicebot.knowledge.model import KnowledgeBase
from voicebot.pickle_cache import load_pickle, save_pickle
from voicebot.routing.calibration import FOLDS, Calibration, calibrate, heldout_scores
from voicebot.routing.catalogue_index import build_catalogue_index
from voicebot.routing.classifier import LabelClassifier, TargetClassifier
from voicebot.routing.decision import NONE, Candidate, RouteDecision
from voicebot.routing.embedders import Embedder
from voicebot.routing.facets import entry_facets, facets
from voicebot.routing.index import ExampleIndex, Origin
from voicebot.routing.lexical import LexicalIndex
from voicebot.routing.linking import CatalogueLinks
from voicebot.routing.ridge import RidgeFeatures, RidgeGram, RidgeTargetClassifier, balanced_weights
from voicebot.routing.scoring import Scorer, Scores, ScoringConfig
from voicebot.routing.text import normalize, strip_fillers
from voicebot.runtime import single_threaded_blas

_LOGGER = logging.getLogger(__name__)

__all__ = ["Router", "ScoringConfig"]


MAX_ROUTED_CHARS = 1000
"""Characters of an utterance the router reads; a spoken request is far shorter."""


class Router:
    """Routes utterances of one KB; safe for concurrent ``route`` calls."""

    def __init__(
        self,
        kb: KnowledgeBase,
        embedder: Embedder,
        index: ExampleIndex,
        config: ScoringConfig | None = None,
        cache_dir: Path | None = None,
        links: CatalogueLinks | None = None,
    ) -> None:
        single_threaded_blas()
        self.kb = kb
        self.embedder = embedder
        self.index = index
        self.config = config or ScoringConfig()
        self.links = links
        """Catalogue links in use (None: the catalogue is off or not installed)."""
        self._none = index.labels.index(NONE) if NONE in index.labels else -1
        self._narrow = _narrow_faq(kb, links) if links and self.config.faq_facets else {}
        classifier, self.calibration, lexical = _load_or_fit(
            index, self.config, kb, self._none, cache_dir
        )
        self._scorer = Scorer(index, lexical, classifier, self.config)
        _LOGGER.info("router ready: %s", self.calibration)

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        embedder: Embedder,
        cache_dir: Path | None = None,
        config: ScoringConfig | None = None,
        catalogue: Catalogue | None = None,
    ) -> Router:
        """Index the KB (with the catalogue unless ``config.catalogue`` is off) and fit the
        classifier, both cached on disk by KB content, catalogue and model."""
        config = config or ScoringConfig()
        if config.catalogue and (catalogue is not None or catalogue_available()):
            index, links = build_catalogue_index(
                kb,
                embedder,
                catalogue or load_catalogue(cache_dir=cache_dir),
                cache_dir,
                config.infer_links,
                config.service_parts,
                config.faq_facets,
            )
            return cls(kb, embedder, index, config, cache_dir, links)
        if config.calibration == "budget":  # the budget needs the catalogue's many phrases
            config = dataclasses.replace(config, calibration="kb")
        return cls(kb, embedder, ExampleIndex.build(kb, embedder, cache_dir), config, cache_dir)

    def route(self, text: str, language: str | None = None) -> RouteDecision:
        """Decide where one utterance goes."""
        return self.route_many([text], [language])[0]

    def route_many(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> list[RouteDecision]:
        """Decide for several utterances at once (one embedding batch)."""
        langs = [lang or self.kb.city.default_language for lang in languages]
        prepared = [self._prepare(text, lang) for text, lang in zip(texts, langs, strict=True)]
        knn, blended = self._scorer.score(prepared, self.embedder.embed(prepared), langs)
        return [
            self._decide(knn[i], blended[i], langs[i], prepared[i]) for i in range(len(prepared))
        ]

    def route_alternatives(
        self, hypotheses: Sequence[tuple[str, float]], language: str | None = None
    ) -> RouteDecision:
        """Decide from a recogniser's n-best list: ``(text, weight)`` pairs, best first.

        Every hypothesis is scored (one embedding batch) and the scores are averaged with
        the weights, so a target that several readings agree on wins over one that only a
        misheard word suggests.
        """
        if not hypotheses:
            return self.route("", language)
        lang = language or self.kb.city.default_language
        texts = [self._prepare(text, lang) for text, _ in hypotheses]
        weights = np.asarray([max(weight, 0.0) for _, weight in hypotheses], dtype=np.float32)
        weights = (
            weights / weights.sum()
            if weights.sum() > 0
            else np.full_like(weights, 1 / len(weights))
        )
        knn, blended = self._scorer.score(texts, self.embedder.embed(texts), [lang] * len(texts))
        heard = next((text for text in texts if text.strip()), "")
        return self._decide(weights @ knn, weights @ blended, lang, heard)

    def heldout_decisions(self, rows: Sequence[int]) -> list[RouteDecision]:
        """Decisions for the index examples at ``rows``, each by a model that never saw it.

        Five folds; an example is masked out together with every example of the same text.
        What ``voicebot kb check`` reports as cross-validated accuracy.
        """
        texts = sorted({self.index.examples[row].text for row in rows})
        fold_of = {text: position % FOLDS for position, text in enumerate(texts)}
        folds = np.asarray([fold_of.get(e.text, -1) for e in self.index.examples], dtype=np.intp)
        train = trainer(self.index, self.config) if self.config.classifier_weight > 0 else None
        knn, blended = heldout_scores(self._scorer, train, folds)
        decisions = []
        for row in rows:
            example = self.index.examples[row]
            decisions.append(self._decide(knn[row], blended[row], example.language, example.text))
        return decisions

    def _prepare(self, text: str, language: str) -> str:
        # Routing time grows with length (a 1 MB "utterance" took a minute): no spoken
        # request needs more than its first MAX_ROUTED_CHARS characters.
        text = normalize(text[:MAX_ROUTED_CHARS])
        return strip_fillers(text, language) if self.config.strip_fillers else text

    def _decide(self, knn: Scores, row: Scores, language: str, text: str) -> RouteDecision:
        has_words = bool(text.strip())
        cfg = self.config
        threshold = self.calibration.thresholds.get(language, self.calibration.default)
        in_scope = row.copy()
        if self._none >= 0:
            in_scope[self._none] = -np.inf
        order = np.argsort(-in_scope)[: cfg.top_candidates]
        candidates = tuple(
            Candidate(self.index.labels[i], round(float(in_scope[i]), 4)) for i in order
        )
        best = candidates[0]
        margin = best.score - candidates[1].score if len(candidates) > 1 else best.score
        chosen = self._doing_the_job(candidates, text, language)
        rejected = not has_words or float(knn[order[0]]) < threshold
        if (
            cfg.negatives_as_class
            and self._none >= 0
            and row[self._none] > best.score + self.calibration.none_margin
        ):
            rejected = True
        return RouteDecision(
            label=NONE if rejected else chosen.label,
            score=best.score,
            margin=round(margin, 4),
            ambiguous=not rejected and margin < cfg.ambiguity_margin,
            candidates=candidates,
            language=language,
            threshold=threshold,
        )

    def _doing_the_job(
        self, candidates: tuple[Candidate, ...], text: str, language: str
    ) -> Candidate:
        """The best candidate, unless it is a narrow FAQ entry (a price, a delay, the papers)
        and the caller asks about none of its facets: "je dois renouveler ma carte" wants
        the department that renews cards, not the price of one. Then the best candidate
        among the departments doing that entry's job, if any is among the candidates."""
        best = candidates[0]
        scope = self._narrow.get(best.label)
        if scope is None or facets(text, language) & scope[0]:
            return best
        return next((c for c in candidates[1:] if c.label in scope[1]), best)


def _narrow_faq(
    kb: KnowledgeBase, links: CatalogueLinks
) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """FAQ target → (its facets, the targets doing its job), for narrow entries only.

    Those doing the job: the entry's own department, the holders of its intents' part or
    service, and the general FAQ entries of those departments or of the same services
    (a "how to get a passport" entry answers "where do I book" better than a price).
    """
    limited = {f"faq:{entry.id}": entry_facets(entry) for entry in kb.faq}
    department = {f"faq:{entry.id}": entry.department for entry in kb.faq}

    def services(target: str) -> set[str]:
        found = (links.service_of(link.catalogue_id) for link in links.of_target(target))
        return {service for service in found if service}

    narrow: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for target, facets_of_entry in limited.items():
        if not facets_of_entry:
            continue
        own = services(target)
        first = department[target]
        doers: set[str] = {first} if first else set()
        for link in links.of_target(target):
            service = links.service_of(link.catalogue_id)
            if service:
                doers |= set(links.holders(service, link.catalogue_id))
        doers = {d for d in doers if not d.startswith("faq:")}
        general = {
            other
            for other, found in limited.items()
            if not found and (department[other] in doers or services(other) & own)
        }
        narrow[target] = (facets_of_entry, frozenset(doers | general))
    return narrow


FIT_FORMAT = 4
"""Bump when fitting or calibration changes: it keys the cached classifier and calibration."""

_FIT_FIELDS = (
    "dense_weight",
    "centroid_weight",
    "lexical_weight",
    "classifier_weight",
    "negatives_as_class",
    "max_in_scope_rejection",
    "city_weight",
    "ridge_words",
    "ridge_regularisation",
    "classifier",
    "calibration",
    "budget_rejection",
    "same_language_neighbours",
)


def _load_or_fit(
    index: ExampleIndex,
    config: ScoringConfig,
    kb: KnowledgeBase,
    none_label: int,
    cache_dir: Path | None,
) -> tuple[LabelClassifier | None, Calibration, LexicalIndex]:
    """Fit the lexical index and the classifier and calibrate (seconds), or load all three
    from the cache (a fraction of a second: what a restart or a KB reload costs).

    The cache file is keyed by the index key (KB content, model, examples) and the scoring
    configuration (``voicebot/pickle_cache.py`` says why unpickling it is acceptable).
    """
    import sklearn

    # Only what the classifier and calibration depend on: changing, say, the ambiguity
    # margin must not cost a refit.
    fitted = {name: getattr(config, name) for name in _FIT_FIELDS}
    fingerprint = f"{FIT_FORMAT}\0{index.key}\0{sorted(fitted.items())}\0{sklearn.__version__}"
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    path = cache_dir / f"router-{key}.pkl" if cache_dir else None
    cached = load_pickle(path)
    if isinstance(cached, tuple) and len(cached) == 3 and isinstance(cached[1], Calibration):
        return cached[0], cached[1], cached[2]

    texts = [e.text for e in index.examples]
    lexical = LexicalIndex(texts)
    train = trainer(index, config)
    use_classifier = config.classifier_weight > 0
    classifier = train(np.ones(len(texts), dtype=bool)) if use_classifier else None
    scorer = Scorer(index, lexical, classifier, config)
    calibration = calibrate(
        scorer, kb.city.languages, none_label, train if use_classifier else None
    )
    save_pickle(path, (classifier, calibration, lexical))
    return classifier, calibration, lexical


def trainer(index: ExampleIndex, config: ScoringConfig) -> Callable[[np.ndarray], LabelClassifier]:
    """``train(mask)``: the classifier fitted on the examples in ``mask``."""
    ridge = config.classifier == "ridge" or (
        config.classifier == "auto" and any(e.origin is Origin.CATALOGUE for e in index.examples)
    )
    if ridge:
        return _ridge_trainer(index, config)
    texts = [e.text for e in index.examples]
    labels = [e.label for e in index.examples]

    def train(mask: np.ndarray) -> LabelClassifier:
        rows = np.flatnonzero(mask)
        return TargetClassifier(
            [texts[i] for i in rows], index.vectors[rows], [labels[i] for i in rows], index.labels
        )

    return train


def _ridge_trainer(
    index: ExampleIndex, config: ScoringConfig
) -> Callable[[np.ndarray], LabelClassifier]:
    """``train(mask)`` for the ridge classifier: one Gram matrix, one solve per mask."""
    texts = [e.text for e in index.examples]
    features = RidgeFeatures(texts, config.ridge_words)
    boost = np.asarray(
        [config.city_weight if e.origin is Origin.CITY else 1.0 for e in index.examples]
    )
    weights = balanced_weights(index.label_of, len(index.labels), boost)
    gram = RidgeGram(
        features.transform(texts, index.vectors),
        index.label_of,
        len(index.labels),
        weights,
        config.ridge_regularisation,
    )

    def train(mask: np.ndarray) -> LabelClassifier:
        return RidgeTargetClassifier(features, gram.solve(np.flatnonzero(~mask)))

    return train
