"""Reading the caller's reply in context: goodbye, yes/no, a choice between two targets."""

from __future__ import annotations

from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import DialogError
from voicebot.dialog.keywords import (
    all_phrases,
    best_option,
    covered_by,
    mentions,
    requested_language,
    starts_with,
    tokens,
)
from voicebot.dialog.prompts import PromptBook
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, RouteDecision, RouteKind, kind_of

Words = tuple[str, ...]


class UnknownLabelError(DialogError):
    """A routing label names no target of the knowledge base."""


class ReplyReader:
    """Interprets short replies with the configured keyword lists of each language."""

    def __init__(self, kb: KnowledgeBase, config: DialogConfig, prompts: PromptBook) -> None:
        self.kb = kb
        self.config = config
        self.prompts = prompts

    def phrases(self, kind: str, language: str) -> tuple[str, ...]:
        """The ``yes`` / ``no`` / ``thanks`` / ``goodbye`` phrases of a language."""
        return all_phrases(getattr(self.config, f"{kind}_words"), language)

    def requested_language(self, words: Words) -> str | None:
        """The language a short utterance asks for, if any."""
        cfg = self.config
        return requested_language(words, cfg.language_names, cfg.max_language_request_words)

    def is_goodbye(self, words: Words, language: str, after_answer: bool) -> bool:
        """Whether the reply ends the call.

        Only goodbye phrases (possibly with thanks) end it, except right after "anything
        else?", where a plain "non merci" or "merci" does too.
        """
        goodbye = self.phrases("goodbye", language)
        thanks = self.phrases("thanks", language)
        if after_answer:
            return covered_by(words, goodbye + thanks + self.phrases("no", language)) is not None
        cover = covered_by(words, goodbye + thanks)
        goodbye_words = {tokens(phrase) for phrase in goodbye}
        return cover is not None and any(phrase in goodbye_words for phrase in cover)

    def no_and_goodbye(self, words: Words, language: str) -> bool:
        """A "no" that also takes leave ("non merci, au revoir"): the call ends."""
        phrases = self.phrases("no", language) + self.phrases("thanks", language)
        goodbye = self.phrases("goodbye", language)
        cover = covered_by(words, phrases + goodbye)
        goodbye_words = {tokens(phrase) for phrase in goodbye}
        return cover is not None and any(phrase in goodbye_words for phrase in cover)

    def only_yes(self, words: Words, language: str) -> bool:
        """The reply is nothing but a yes ("oui", "oui s'il vous plaît")."""
        return covered_by(words, self.phrases("yes", language)) is not None

    def yes(self, words: Words, language: str) -> bool:
        """The reply starts with yes ("oui rappelez-moi")."""
        return starts_with(words, self.phrases("yes", language))

    def no(self, words: Words, language: str) -> bool:
        """The reply starts with no ("non merci")."""
        return starts_with(words, self.phrases("no", language))

    def yes_no_grammar(self, language: str) -> tuple[str, ...]:
        """Recognizer grammar for a yes/no question (``[unk]`` catches everything else)."""
        kinds = ("yes", "no", "goodbye", "thanks")
        phrases = [phrase.lower() for kind in kinds for phrase in self.phrases(kind, language)]
        return (*dict.fromkeys(phrases), "[unk]")

    def choose(
        self,
        words: Words,
        options: tuple[str, str],
        decision: RouteDecision | None,
        language: str,
    ) -> str | None:
        """Which of two routing labels the reply to "A or B?" picks, if it picks one.

        In order: "the first/second one", words of one option's name, the router's label
        when it confidently is one of the two, a yes (= the first, best-scored option).
        """
        first, second = options
        cfg = self.config
        said_first = mentions(words, all_phrases(cfg.first_option_words, language))
        said_second = mentions(words, all_phrases(cfg.second_option_words, language))
        if said_first != said_second:
            return first if said_first else second
        names = {label: self.prompts.option(label, language) for label in options}
        by_name = best_option(words, names)
        if by_name is not None:
            return by_name
        if decision is not None and not decision.ambiguous and decision.label in options:
            return decision.label
        if self.yes(words, language) and not self.no(words, language):
            return first
        return None

    def ambiguous_pair(self, decision: RouteDecision) -> tuple[str, str] | None:
        """The two targets to ask about when the router hesitated, else None."""
        if not decision.ambiguous:
            return None
        for candidate in decision.candidates:
            label = candidate.label
            if label != decision.label and kind_of(label) is not RouteKind.UNKNOWN:
                self.check_label(decision.label)
                self.check_label(label)
                return decision.label, label
        return None

    def check_label(self, label: str) -> None:
        """Fail with :class:`UnknownLabelError` when ``label`` is no target of the KB."""
        kind = kind_of(label)
        try:
            if kind is RouteKind.FAQ:
                self.kb.faq_entry(label[len(FAQ_PREFIX) :])
            elif kind is RouteKind.DEPARTMENT:
                self.kb.department(label)
            elif kind is RouteKind.UNKNOWN:
                raise KeyError(label)
        except KeyError:
            raise UnknownLabelError(
                f"routing label {label!r} is not a target of knowledge base {self.kb.source}"
            ) from None

    def related_faq(self, department: str, candidates: list[str]) -> str | None:
        """An FAQ of the department: the router's best-scored one if any, else the first."""
        related = [entry.id for entry in self.kb.faq if entry.department == department]
        for label in candidates:
            if label.startswith(FAQ_PREFIX) and label[len(FAQ_PREFIX) :] in related:
                return label[len(FAQ_PREFIX) :]
        return related[0] if related else None
