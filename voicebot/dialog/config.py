"""Tunable behaviour of the dialog: retry limits, thresholds and the keyword lists per language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from voicebot.dialog.keywords import Phrases

# Keyword lists are written the way people write them; matching normalises both sides
# (lower case, apostrophes and punctuation split off, accents folded), so recognizer
# output such as "d accord" or "c est tout" matches "d'accord" and "c'est tout".

DEFAULT_YES: dict[str, tuple[str, ...]] = {
    "fr": (
        "oui", "ouais", "ouai", "oui oui", "d'accord", "volontiers", "bien sûr", "exactement",
        "c'est ça", "tout à fait", "ok", "okay", "parfait", "avec plaisir", "absolument",
        "je veux bien", "s'il vous plaît", "oui s'il vous plaît",
    ),
    "nl": ("ja", "jawel", "ja hoor", "graag", "goed", "oké", "ok", "okay", "zeker", "klopt",
           "dat klopt", "inderdaad", "prima", "ja graag", "alstublieft"),
    "en": ("yes", "yeah", "yep", "yup", "sure", "okay", "ok", "of course", "correct",
           "that's right", "right", "please", "yes please", "absolutely", "fine"),
    "de": ("ja", "jawohl", "gerne", "gern", "genau", "richtig", "okay", "ok", "klar",
           "natürlich", "bitte", "ja bitte", "sicher", "stimmt"),
}  # fmt: skip

DEFAULT_NO: dict[str, tuple[str, ...]] = {
    "fr": ("non", "nan", "non non", "non merci", "pas besoin", "pas la peine", "surtout pas",
           "ce n'est pas nécessaire", "pas maintenant", "non ça ira", "ça ira"),
    "nl": ("nee", "neen", "nee hoor", "nee dank u", "nee dank je", "nee bedankt", "niet nodig",
           "liever niet", "nu niet"),
    "en": ("no", "nope", "nah", "no thanks", "no thank you", "not really", "not now",
           "no need", "it's fine"),
    "de": ("nein", "ne", "nee", "nein danke", "nicht nötig", "lieber nicht", "jetzt nicht"),
}  # fmt: skip

DEFAULT_THANKS: dict[str, tuple[str, ...]] = {
    "fr": ("merci", "merci beaucoup", "merci bien", "je vous remercie", "merci madame",
           "merci monsieur", "c'est gentil", "très bien", "parfait merci", "super"),
    "nl": ("dank u", "dank je", "dank u wel", "dank je wel", "bedankt", "merci", "super"),
    "en": ("thanks", "thank you", "thanks a lot", "thank you very much", "great", "perfect"),
    "de": ("danke", "danke schön", "dankeschön", "vielen dank", "danke sehr", "super"),
}  # fmt: skip

DEFAULT_GOODBYE: dict[str, tuple[str, ...]] = {
    "fr": ("au revoir", "bonne journée", "bonne soirée", "bonne fin de journée", "à bientôt",
           "c'est tout", "ce sera tout", "c'est bon", "rien d'autre", "c'est tout pour moi",
           "j'ai ce qu'il me faut", "j'ai eu ma réponse"),
    "nl": ("tot ziens", "doei", "dag dag", "dat is alles", "dat was het", "fijne dag",
           "nog een fijne dag", "verder niets", "dat was alles"),
    "en": ("goodbye", "good bye", "bye", "bye bye", "that's all", "that's it", "have a nice day",
           "nothing else", "that's everything", "i'm done"),
    "de": ("auf wiedersehen", "auf wiederhören", "tschüss", "tschüs", "das war's", "das wars",
           "das ist alles", "schönen tag", "sonst nichts", "das war alles"),
}  # fmt: skip

DEFAULT_LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    # Target language → how callers name it, in any of the four languages.
    "fr": ("français", "french", "frans", "französisch", "franstalig"),
    "nl": ("nederlands", "néerlandais", "flamand", "vlaams", "dutch", "flemish",
           "niederländisch", "holländisch", "nederlandstalig"),
    "en": ("anglais", "english", "engels", "englisch", "engelstalig"),
    "de": ("allemand", "german", "deutsch", "duits", "duitstalig"),
}  # fmt: skip

DEFAULT_FIRST: dict[str, tuple[str, ...]] = {
    "fr": ("premier", "première", "premiere"),
    "nl": ("eerste", "eerst"),
    "en": ("first", "former"),
    "de": ("erste", "ersten", "erstes", "ersteres", "erstere"),
}

DEFAULT_SECOND: dict[str, tuple[str, ...]] = {
    "fr": ("deuxième", "second", "seconde", "dernier", "dernière"),
    "nl": ("tweede", "laatste"),
    "en": ("second", "latter", "last"),
    "de": ("zweite", "zweiten", "zweites", "letztere", "letzteres", "letzte"),
}


@dataclass(frozen=True, slots=True)
class DialogConfig:
    """Limits, thresholds and keyword lists of the dialog (defaults suit a city switchboard)."""

    max_failures: int = 2
    """Not-understood turns in a row before the DTMF menu (or the operator when there is none)."""
    max_menu_failures: int = 1
    """Failures after the menu was announced before the call goes to the operator."""
    max_silence_prompts: int = 2
    """Silence timeouts answered with "are you still there?" before saying goodbye."""
    max_yes_no_retries: int = 1
    """Replies to a yes/no question that are neither before the offer is dropped."""
    max_call_duration: timedelta = timedelta(minutes=10)
    """Beyond this the call is handed to the operator (or ended politely when closed)."""
    min_asr_confidence: float = 0.4
    """Utterances recognised with a lower mean confidence are asked again, not routed."""
    max_language_request_words: int = 6
    """Longer utterances naming a language are requests, not language switches."""
    announce_languages: bool = True
    """After the greeting, tell callers in each other offered language how to switch."""
    operator_digit: str = "0"
    """DTMF key for the operator desk (a department using it takes precedence)."""
    summary_max_chars: int = 240
    """Length of the transcript excerpt passed with a transfer."""
    yes_words: Phrases = field(default_factory=lambda: dict(DEFAULT_YES))
    no_words: Phrases = field(default_factory=lambda: dict(DEFAULT_NO))
    thanks_words: Phrases = field(default_factory=lambda: dict(DEFAULT_THANKS))
    """After "anything else?", thanks (like no) end the call."""
    goodbye_words: Phrases = field(default_factory=lambda: dict(DEFAULT_GOODBYE))
    language_names: Phrases = field(default_factory=lambda: dict(DEFAULT_LANGUAGE_NAMES))
    """Target language → names callers use for it."""
    first_option_words: Phrases = field(default_factory=lambda: dict(DEFAULT_FIRST))
    """Words choosing the first option of a clarifying question ("le premier")."""
    second_option_words: Phrases = field(default_factory=lambda: dict(DEFAULT_SECOND))

    def __post_init__(self) -> None:
        for name in ("max_failures", "max_menu_failures", "max_language_request_words"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"DialogConfig.{name}: must be at least 1, got {getattr(self, name)}"
                )
        for name in ("max_silence_prompts", "max_yes_no_retries"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"DialogConfig.{name}: must not be negative, got {getattr(self, name)}"
                )
        if self.max_call_duration <= timedelta(0):
            raise ValueError(
                f"DialogConfig.max_call_duration: must be positive, got {self.max_call_duration}"
            )
        if not 0.0 <= self.min_asr_confidence <= 1.0:
            raise ValueError(
                "DialogConfig.min_asr_confidence: must be within 0..1, "
                f"got {self.min_asr_confidence}"
            )
        if len(self.operator_digit) != 1 or self.operator_digit not in "0123456789*#":
            raise ValueError(
                f"DialogConfig.operator_digit: must be one key, got {self.operator_digit!r}"
            )
        if self.summary_max_chars < 20:
            raise ValueError(
                f"DialogConfig.summary_max_chars: must be at least 20, got {self.summary_max_chars}"
            )

    def check_languages(self, languages: tuple[str, ...]) -> None:
        """Fail when a language the city offers has no yes/no/goodbye keywords."""
        for name in ("yes_words", "no_words", "goodbye_words"):
            lists: Phrases = getattr(self, name)
            for language in languages:
                if not lists.get(language):
                    raise ValueError(
                        f"DialogConfig.{name}: no phrases for language {language!r} "
                        "(the knowledge base offers it)"
                    )
