"""Every sentence the assistant says, per language, and the list of them for pre-rendering.

Each text has a stable key (``greeting``, ``transfer:population``, ``faq:opening_hours``…)
that the TTS layer uses, with the language, as its cache key. :func:`prompt_texts` lists
every text a knowledge base can make the dialog say, so all of them can be rendered before
the first call. The single exception is ``clarify`` ("do you mean A or B?"), whose text
depends on the pair of targets the router hesitated between: it is synthesised on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voicebot.dialog.hours import speak_ranges, speak_week
from voicebot.dialog.texts import TEXTS
from voicebot.knowledge.keypad import OTHER_GROUP, KeypadMenu, build_keypad
from voicebot.knowledge.model import FaqEntry, KnowledgeBase, OpeningHours, TimeRange
from voicebot.routing.decision import FAQ_PREFIX, OPERATOR


class PromptKey(StrEnum):
    """Prompt families; parametrised ones are suffixed ``:<target>`` in ``Play.prompt_key``."""

    GREETING = "greeting"
    LANGUAGE_OFFER = "language_offer"  # :<language greeted in>
    LANGUAGE_SWITCHED = "language_switched"
    LANGUAGE_UNAVAILABLE = "language_unavailable"
    HOW_CAN_I_HELP = "how_can_i_help"
    ANYTHING_ELSE = "anything_else"
    LISTENING = "listening"
    REPHRASE = "rephrase"
    REPHRASE_LOW_CONFIDENCE = "rephrase_low_confidence"
    CLARIFY = "clarify"
    YES_NO_REPEAT = "yes_no_repeat"
    KEYPAD_YES_NO = "keypad_yes_no"
    MENU = "menu"  # first level; second levels: menu:<group id>
    NO_SPEECH = "no_speech"
    SILENCE = "silence"
    SILENCE_GOODBYE = "silence_goodbye"
    GOODBYE = "goodbye"
    CALL_LATER = "call_later"
    CALLBACK_RECORDED = "callback_recorded"
    MAX_DURATION = "max_duration"
    HOLIDAY_TODAY = "holiday_today"
    EXCEPTION_CLOSED = "exception_closed"
    EXCEPTION_HOURS = "exception_hours"  # :<HHMM-HHMM,…>
    FAQ = "faq"  # :<faq id>, the short answer itself
    FAQ_DETAILS = "faq_details"  # :<faq id>, the rest of the answer
    OFFER_DETAILS = "offer_details"
    TRANSFER = "transfer"  # :<department id | operator>
    TRANSFER_FAILED = "transfer_failed"
    CLOSED = "closed"  # :<department id | operator>
    OFFER_FAQ = "offer_faq"  # :<faq id>
    OFFER_OPERATOR = "offer_operator"
    OFFER_CALLBACK = "offer_callback"  # :<department id | operator>


DYNAMIC_PROMPT_KEYS = frozenset({PromptKey.CLARIFY.value})
"""Keys whose text is built per call (not in :func:`prompt_texts`)."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """One sentence to speak."""

    key: str
    language: str
    text: str


PROMPT_LANGUAGES = tuple(TEXTS)
"""Languages the assistant can speak."""


def faq_title(entry: FaqEntry, language: str) -> str:
    """A short title for an FAQ entry: its first question, without the final punctuation."""
    return entry.questions[language][0].strip().rstrip("?!.… ").strip()


def ranges_key(ranges: tuple[TimeRange, ...]) -> str:
    """Key suffix naming a set of intervals, e.g. ``0830-1100``."""
    return ",".join(f"{r.start:%H%M}-{r.end:%H%M}" for r in ranges)


class PromptBook:
    """The assistant's sentences for one knowledge base."""

    def __init__(self, kb: KnowledgeBase, operator_digit: str = "0") -> None:
        _check_kb(kb)
        self.kb = kb
        self.operator_digit = operator_digit
        self.keypad: KeypadMenu = build_keypad(kb, operator_digit)

    # --- fixed sentences -----------------------------------------------------------------

    def _fixed(self, key: PromptKey, language: str) -> Prompt:
        return Prompt(key.value, language, getattr(TEXTS[language], key.value))

    def greeting(self, language: str) -> Prompt:
        """Welcome with the city's name."""
        text = TEXTS[language].greeting.format(city=self.kb.city.name[language])
        return Prompt(PromptKey.GREETING.value, language, text)

    def language_offer(self, greeted_in: str) -> Prompt | None:
        """The city's other languages, each named in its own language, in one short
        sentence said in the first of them; None for a city with one language."""
        others = [lang for lang in self.kb.city.languages if lang != greeted_in]
        if not others:
            return None
        voice = TEXTS[others[0]]
        names = [TEXTS[lang].language_names[lang] for lang in others]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {voice.or_} {names[-1]}"
        text = voice.language_offer.format(languages=listed[:1].upper() + listed[1:])
        return Prompt(f"{PromptKey.LANGUAGE_OFFER}:{greeted_in}", others[0], text)

    def language_switched(self, language: str) -> Prompt:
        """Confirmation of a switch to ``language``, in that language."""
        return self._fixed(PromptKey.LANGUAGE_SWITCHED, language)

    def language_unavailable(self, language: str) -> Prompt:
        """Which languages are offered, said in ``language``."""
        texts = TEXTS[language]
        names = [texts.language_names[lang] for lang in self.kb.city.languages]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {texts.or_} {names[-1]}"
        return Prompt(
            PromptKey.LANGUAGE_UNAVAILABLE.value,
            language,
            texts.language_unavailable.format(languages=listed),
        )

    def how_can_i_help(self, language: str) -> Prompt:
        """The open question."""
        return self._fixed(PromptKey.HOW_CAN_I_HELP, language)

    def anything_else(self, language: str) -> Prompt:
        """Asked after an answer."""
        return self._fixed(PromptKey.ANYTHING_ELSE, language)

    def listening(self, language: str) -> Prompt:
        """Said when the caller only says "yes" to an open question."""
        return self._fixed(PromptKey.LISTENING, language)

    def rephrase(self, language: str, low_confidence: bool = False) -> Prompt:
        """Ask to say it again (differently when the audio was poor)."""
        key = PromptKey.REPHRASE_LOW_CONFIDENCE if low_confidence else PromptKey.REPHRASE
        return self._fixed(key, language)

    def yes_no_repeat(self, language: str) -> Prompt:
        """Ask for a plain yes or no."""
        return self._fixed(PromptKey.YES_NO_REPEAT, language)

    def keypad_yes_no(self, language: str) -> Prompt:
        """How to answer a yes/no question with the keypad (said to keypad users)."""
        return self._fixed(PromptKey.KEYPAD_YES_NO, language)

    def no_speech(self, language: str) -> Prompt:
        """Said before putting a silent caller through to the operator."""
        return self._fixed(PromptKey.NO_SPEECH, language)

    def offer_details(self, language: str) -> Prompt:
        """ "Do you want more details?" after a short answer that has some."""
        return self._fixed(PromptKey.OFFER_DETAILS, language)

    def silence(self, language: str) -> Prompt:
        """ "Are you still there?"."""
        return self._fixed(PromptKey.SILENCE, language)

    def silence_goodbye(self, language: str) -> Prompt:
        """Goodbye to a caller who stays silent."""
        return self._fixed(PromptKey.SILENCE_GOODBYE, language)

    def goodbye(self, language: str) -> Prompt:
        """The closing sentence."""
        return self._fixed(PromptKey.GOODBYE, language)

    def call_later(self, language: str) -> Prompt:
        """Invitation to call again."""
        return self._fixed(PromptKey.CALL_LATER, language)

    def callback_recorded(self, language: str) -> Prompt:
        """Confirmation of a callback request."""
        return self._fixed(PromptKey.CALLBACK_RECORDED, language)

    def max_duration(self, language: str) -> Prompt:
        """Said when the call has lasted too long."""
        return self._fixed(PromptKey.MAX_DURATION, language)

    def holiday_today(self, language: str) -> Prompt:
        """Today is a public holiday."""
        return self._fixed(PromptKey.HOLIDAY_TODAY, language)

    def exception_today(self, ranges: tuple[TimeRange, ...], language: str) -> Prompt:
        """Today's exceptional hours (or closure)."""
        texts = TEXTS[language]
        if not ranges:
            return Prompt(PromptKey.EXCEPTION_CLOSED.value, language, texts.exception_closed)
        text = texts.exception_hours.format(ranges=speak_ranges(ranges, language))
        return Prompt(f"{PromptKey.EXCEPTION_HOURS}:{ranges_key(ranges)}", language, text)

    # --- sentences about targets -------------------------------------------------------

    def target_name(self, target: str, language: str) -> str:
        """Spoken name of a department id or ``operator``."""
        if target == OPERATOR:
            return self.kb.operator.name[language]
        return self.kb.department(target).name[language]

    def target_hours(self, target: str) -> OpeningHours:
        """Opening hours of a department id or ``operator``."""
        return self.kb.operator.hours if target == OPERATOR else self.kb.department(target).hours

    def faq_answer(self, faq_id: str, language: str) -> Prompt:
        """The short answer of an FAQ entry."""
        return Prompt(
            f"{PromptKey.FAQ}:{faq_id}", language, self.kb.faq_entry(faq_id).answer[language]
        )

    def has_details(self, faq_id: str, language: str) -> bool:
        """Whether the FAQ entry has details to offer in ``language``."""
        return bool(self.kb.faq_entry(faq_id).details.get(language))

    def faq_details(self, faq_id: str, language: str) -> Prompt:
        """The rest of an FAQ answer, said on request."""
        text = self.kb.faq_entry(faq_id).details[language]
        return Prompt(f"{PromptKey.FAQ_DETAILS}:{faq_id}", language, text)

    def transfer(self, target: str, language: str) -> Prompt:
        """Announcement of a transfer."""
        text = TEXTS[language].transfer.format(name=self.target_name(target, language))
        return Prompt(f"{PromptKey.TRANSFER}:{target}", language, text)

    def transfer_failed(self, language: str) -> Prompt:
        """Said when the PBX could not be asked to transfer, before the dialplan puts the
        caller through to the operator desk."""
        text = TEXTS[language].transfer_failed.format(name=self.target_name(OPERATOR, language))
        return Prompt(PromptKey.TRANSFER_FAILED.value, language, text)

    def closed(self, target: str, language: str) -> Prompt:
        """The target is closed, with its weekly opening hours."""
        texts = TEXTS[language]
        text = texts.closed.format(name=self.target_name(target, language))
        schedule = speak_week(self.target_hours(target), language)
        if schedule:
            text = f"{text} {texts.closed_schedule.format(schedule=schedule)}"
        return Prompt(f"{PromptKey.CLOSED}:{target}", language, text)

    def offer_faq(self, faq_id: str, language: str) -> Prompt:
        """Offer to hear an FAQ answer."""
        title = faq_title(self.kb.faq_entry(faq_id), language)
        return Prompt(
            f"{PromptKey.OFFER_FAQ}:{faq_id}",
            language,
            TEXTS[language].offer_faq.format(title=title),
        )

    def offer_operator(self, language: str) -> Prompt:
        """Offer to put the caller through to the operator."""
        text = TEXTS[language].offer_operator.format(name=self.kb.operator.name[language])
        return Prompt(PromptKey.OFFER_OPERATOR.value, language, text)

    def offer_callback(self, target: str, language: str) -> Prompt:
        """Offer a callback by a department id or ``operator``."""
        text = TEXTS[language].offer_callback.format(name=self.target_name(target, language))
        return Prompt(f"{PromptKey.OFFER_CALLBACK}:{target}", language, text)

    def group_name(self, group: str, language: str) -> str:
        """What a keypad menu group is called."""
        if group == OTHER_GROUP:
            return TEXTS[language].menu_other
        return next(g for g in self.kb.menu if g.id == group).name[language]

    def menu(self, language: str, group: str | None = None) -> Prompt:
        """The keypad menu's first level, or the second level of ``group``."""
        texts = TEXTS[language]
        if group is None:
            parts, options = [texts.menu_intro], self.keypad.top
        else:
            parts, options = (
                [_sentence(self.group_name(group, language))],
                self.keypad.groups[group],
            )
        for option in options:
            if option.target == OPERATOR:
                continue
            name = (
                self.target_name(option.target, language)
                if option.target is not None
                else self.group_name(str(option.group), language)
            )
            parts.append(_sentence(texts.menu_item.format(name=name, digit=option.digit)))
        if group is not None:
            parts.append(texts.menu_back)
        operator = texts.menu_operator.format(
            name=self.target_name(OPERATOR, language), digit=self.operator_digit
        )
        parts.append(_sentence(operator))
        key = PromptKey.MENU.value if group is None else f"{PromptKey.MENU}:{group}"
        return Prompt(key, language, " ".join(parts))

    def option(self, label: str, language: str) -> str:
        """How a routing label is named in a clarifying question."""
        if label.startswith(FAQ_PREFIX):
            title = faq_title(self.kb.faq_entry(label[len(FAQ_PREFIX) :]), language)
            return TEXTS[language].faq_option.format(title=title)
        return self.target_name(label, language)

    def clarify(self, first: str, second: str, language: str) -> Prompt:
        """ "Do you mean A or B?" for two routing labels (dynamic: not pre-rendered)."""
        text = TEXTS[language].clarify.format(
            a=self.option(first, language), b=self.option(second, language)
        )
        return Prompt(PromptKey.CLARIFY.value, language, text)

    # --- the pre-render list -------------------------------------------------------------

    def all_prompts(self) -> list[Prompt]:
        """Every prompt this knowledge base can produce, except the dynamic ``clarify``."""
        kb = self.kb
        targets = [OPERATOR, *(d.id for d in kb.departments)]
        exception_ranges = {
            ranges for target in targets for ranges in self.target_hours(target).exceptions.values()
        }
        prompts: list[Prompt] = []
        for lang in kb.city.languages:
            offer = self.language_offer(lang)
            prompts += [
                self.greeting(lang),
                *([offer] if offer is not None else []),
                self.language_switched(lang),
                self.language_unavailable(lang),
                self.how_can_i_help(lang),
                self.anything_else(lang),
                self.listening(lang),
                self.rephrase(lang),
                self.rephrase(lang, low_confidence=True),
                self.yes_no_repeat(lang),
                self.keypad_yes_no(lang),
                self.no_speech(lang),
                self.offer_details(lang),
                self.silence(lang),
                self.silence_goodbye(lang),
                self.goodbye(lang),
                self.call_later(lang),
                self.callback_recorded(lang),
                self.max_duration(lang),
                self.holiday_today(lang),
                self.offer_operator(lang),
                self.transfer_failed(lang),
            ]
            prompts.append(self.menu(lang))
            prompts += [self.menu(lang, group) for group in self.keypad.groups]
            for target in targets:
                prompts += [self.transfer(target, lang), self.offer_callback(target, lang)]
                if not self.target_hours(target).always_open:
                    prompts.append(self.closed(target, lang))
            for entry in kb.faq:
                prompts += [self.faq_answer(entry.id, lang), self.offer_faq(entry.id, lang)]
                if self.has_details(entry.id, lang):
                    prompts.append(self.faq_details(entry.id, lang))
            prompts += [self.exception_today(r, lang) for r in sorted(exception_ranges, key=str)]
        return prompts


def prompt_texts(kb: KnowledgeBase, operator_digit: str = "0") -> dict[str, dict[str, str]]:
    """Language → prompt key → text: everything to pre-render for ``kb`` (all but ``clarify``)."""
    result: dict[str, dict[str, str]] = {lang: {} for lang in kb.city.languages}
    for prompt in PromptBook(kb, operator_digit).all_prompts():
        result[prompt.language][prompt.key] = prompt.text
    return result


def _sentence(text: str) -> str:
    """``text`` with a capital first letter and a final full stop."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", ":")) else f"{text}."


def _check_kb(kb: KnowledgeBase) -> None:
    """Fail early, naming the field, when the KB lacks a text the prompts need."""
    for lang in kb.city.languages:
        if lang not in TEXTS:
            raise ValueError(
                f"{kb.source}: city.languages: the assistant has no sentences in {lang!r} "
                f"(it speaks {', '.join(PROMPT_LANGUAGES)})"
            )
    fields: list[tuple[str, dict[str, str] | dict[str, tuple[str, ...]]]] = [
        ("city.name", kb.city.name),
        ("operator.name", kb.operator.name),
    ]
    for dept in kb.departments:
        fields.append((f"departments[{dept.id}].name", dept.name))
    for entry in kb.faq:
        fields += [
            (f"faq[{entry.id}].answer", entry.answer),
            (f"faq[{entry.id}].questions", entry.questions),
        ]
    for group in kb.menu:
        fields.append((f"menu[{group.id}].name", group.name))
    for name, texts in fields:
        for lang in kb.city.languages:
            if not texts.get(lang):
                raise ValueError(
                    f"{kb.source}: {name}: no text in {lang!r} (city.languages offers it)"
                )
