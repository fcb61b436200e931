"""What the agent picking up a transferred call hears (the whisper) and sees (the screen pop).

Both name where the caller wanted to go as the knowledge base speaks it, in the agent's
language (the city's default language: staff, not callers), never by its internal id: a
real Asterisk 22 run had agents hear "…pour waste" (issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from voicebot.dialog import Transfer
from voicebot.knowledge.model import KnowledgeBase
from voicebot.telephony import contract
from voicebot.telephony.ami_values import cut_chars

WHISPER_TEMPLATES: Final[dict[str, str]] = {
    "fr": "Appel transféré par l'assistant pour {target}. L'appelant a dit : {said}",
    "nl": "Oproep doorgeschakeld door de assistent voor {target}. De beller zei: {said}",
    "en": "Call transferred by the assistant for {target}. The caller said: {said}",
    "de": "Anruf vom Assistenten weitergeleitet für {target}. Der Anrufer sagte: {said}",
}
WHISPER_SAID_CHARS: Final = 160
"""Most of the caller's words the whisper repeats (about ten seconds of speech)."""

_SPOKEN_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "fr": (
        "le service des ",
        "le service du ",
        "le service de la ",
        "le service ",
        "le ",
        "la ",
        "les ",
        "l'",
    ),
    "nl": ("de dienst ", "het ", "de "),
    "en": ("the ",),
    "de": ("der ", "die ", "das ", "den ", "dem "),
}
_SPOKEN_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "en": (" department", " office"),
}
"""Words a spoken name needs in a sentence ("pour le service Propreté publique") and a
phone display does not have room for ("Propreté publique")."""


@dataclass(frozen=True, slots=True)
class AgentNotice:
    """The whisper and screen pop of one transfer."""

    language: str
    """The agent's language."""
    target_name: str
    """The department (or operator desk) the caller asked for, as the KB names it."""
    whisper_text: str
    """Spoken to the agent before the call is bridged."""
    screen_pop: str
    """Caller-id name shown on the agent's phone: the department's name as a display
    shows it, then the request; whole characters, at most ``SCREEN_POP_MAX_CHARS``."""


def spoken_name(kb: KnowledgeBase, target: str, language: str) -> str:
    """The KB's name of a department id or ``operator`` in ``language`` (then the city's
    default language, then any); the id itself only when the KB has no such target."""
    if target == contract.OPERATOR_TARGET:
        names = kb.operator.name
    else:
        try:
            names = kb.department(target).name
        except KeyError:
            return target
    for choice in (language, kb.city.default_language):
        if names.get(choice):
            return names[choice]
    return next((name for name in names.values() if name), target)


def display_name(name: str, language: str) -> str:
    """A spoken name without the article and generic words around it, for a display:
    "le service Propreté publique" -> "Propreté publique"; other names are left whole."""
    short = name
    lowered = name.lower()
    for prefix in _SPOKEN_PREFIXES.get(language, ()):
        if lowered.startswith(prefix) and len(name) > len(prefix):
            short = name[len(prefix) :]
            break
    for suffix in _SPOKEN_SUFFIXES.get(language, ()):
        if short.lower().endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    return short[:1].upper() + short[1:]


def agent_notice(kb: KnowledgeBase, action: Transfer) -> AgentNotice:
    """What the agent of ``action`` hears and sees, in the city's default language.

    The request is named after the department the caller asked about, also when the call
    goes to the operator instead (closed, busy, no answer): that is what the agent needs.
    """
    language = kb.city.default_language
    target = action.summary.department or action.target
    name = spoken_name(kb, target, language)
    said = " ".join(action.summary.transcript.split())
    template = WHISPER_TEMPLATES.get(language, WHISPER_TEMPLATES["en"])
    whisper = template.format(target=name, said=cut_chars(said, WHISPER_SAID_CHARS))
    shown = display_name(name, language)
    screen_pop = f"{shown}: {said}" if said else shown
    return AgentNotice(
        language=language,
        target_name=name,
        whisper_text=whisper,
        screen_pop=cut_chars(screen_pop, contract.SCREEN_POP_MAX_CHARS),
    )
