"""Normalisation makes written KB phrases and Vosk transcripts comparable."""

from __future__ import annotations

from voicebot.routing.text import fold_accents, normalize, strip_fillers


def test_written_and_transcribed_forms_normalise_alike() -> None:
    assert normalize("J'ai perdu ma carte d'identité !") == "j ai perdu ma carte d identité"
    assert normalize("j ai perdu ma carte d identité") == "j ai perdu ma carte d identité"
    assert normalize("  Où est   l’hôtel de ville ? ") == "où est l hôtel de ville"


def test_underscores_and_symbols_become_spaces() -> None:
    assert normalize("parc_à-conteneurs / recyparc") == "parc à conteneurs recyparc"


def test_fold_accents_removes_diacritics_only() -> None:
    assert fold_accents("état civil à côté") == "etat civil a cote"


def test_fillers_are_removed_but_never_everything() -> None:
    assert strip_fillers("euh allo oui bonjour madame je voudrais un passeport", "fr") == (
        "je voudrais un passeport"
    )
    assert strip_fillers("oui bonjour", "fr") == "oui bonjour"
    assert strip_fillers("uh hello i need a passport", "en") == "i need a passport"
