"""The whisper and screen pop name the department as the KB speaks it (issue 12 item 2)."""

from __future__ import annotations

from voicebot.calls.agent_notice import agent_notice, display_name, spoken_name
from voicebot.dialog import Transfer
from voicebot.dialog.actions import TransferSummary
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony import contract

KB = load_kb(sample_kb_path())


def _transfer(target: str, department: str | None, language: str = "fr") -> Transfer:
    return Transfer(
        extension="2003",
        target=target,
        summary=TransferSummary(
            intent=department or target,
            department=department,
            transcript="mes poubelles n'ont pas été ramassées ce matin",
            language=language,
        ),
    )


def test_the_whisper_names_the_department_not_its_id() -> None:
    # Before: "Appel transféré par l'assistant pour waste." (a real Asterisk 22 run).
    notice = agent_notice(KB, _transfer("waste", "waste"))
    assert notice.target_name == "le service Propreté publique"
    assert notice.whisper_text.startswith(
        "Appel transféré par l'assistant pour le service Propreté publique. "
    )
    assert "waste" not in notice.whisper_text
    assert notice.screen_pop == "Propreté publique: mes poubelles n'ont…"
    assert len(notice.screen_pop) <= contract.SCREEN_POP_MAX_CHARS


def test_display_names_drop_the_words_a_sentence_needs() -> None:
    assert display_name("le service Propreté publique", "fr") == "Propreté publique"
    assert display_name("le service des Taxes communales", "fr") == "Taxes communales"
    assert (
        display_name("l'accueil de la maison communale", "fr") == "Accueil de la maison communale"
    )
    assert display_name("de dienst Openbare Netheid", "nl") == "Openbare Netheid"
    assert display_name("the Waste and Cleanliness department", "en") == "Waste and Cleanliness"
    assert display_name("le CPAS", "fr") == "CPAS"
    assert display_name("Guichet unique", "fr") == "Guichet unique"


def test_the_agent_hears_the_city_language_whatever_the_caller_spoke() -> None:
    notice = agent_notice(KB, _transfer("waste", "waste", language="nl"))
    assert notice.language == KB.city.default_language == "fr"
    assert "le service Propreté publique" in notice.whisper_text


def test_a_fallback_to_the_operator_still_names_the_department_asked_for() -> None:
    notice = agent_notice(KB, _transfer(contract.OPERATOR_TARGET, "civil_status"))
    assert notice.target_name == spoken_name(KB, "civil_status", "fr")
    assert notice.target_name != "civil_status"


def test_the_operator_itself_is_named_as_the_kb_names_it() -> None:
    notice = agent_notice(KB, _transfer(contract.OPERATOR_TARGET, None))
    assert notice.target_name == "l'accueil de la maison communale"


def test_an_unknown_target_falls_back_to_its_id() -> None:
    assert spoken_name(KB, "no_such_department", "fr") == "no_such_department"
