"""The assistant's fixed sentences: content per language and the pre-render list."""

from __future__ import annotations

import dataclasses

import pytest

from tests.dialog.driver import city_kb, minimal_kb
from voicebot.dialog.prompts import (
    DYNAMIC_PROMPT_KEYS,
    PROMPT_LANGUAGES,
    PromptBook,
    faq_title,
    prompt_texts,
)
from voicebot.knowledge.model import City


def test_greeting_names_the_city_in_each_language() -> None:
    book = PromptBook(city_kb())
    for language in PROMPT_LANGUAGES:
        assert "Woluwe-Test" in book.greeting(language).text
    assert book.greeting("fr").text.startswith("Bonjour")
    assert book.greeting("nl").text.startswith("Goeiedag")


def test_closed_department_says_its_weekly_hours_naturally() -> None:
    text = PromptBook(city_kb()).closed("population", "fr").text
    assert text == (
        "Je ne peux pas vous mettre en relation avec le service Population pour le moment : "
        "le service est fermé. Il est ouvert du lundi au jeudi de huit heures trente à douze "
        "heures et de treize heures trente à seize heures, le vendredi de huit heures trente "
        "à douze heures, et le samedi de neuf heures à douze heures."
    )


def test_dtmf_menu_lists_departments_by_digit_then_the_operator() -> None:
    book = PromptBook(city_kb())
    assert book.menu("fr").text == (
        "Vous pouvez aussi choisir avec le clavier de votre téléphone. "
        "Pour le service Population, tapez 1. Pour le service Urbanisme, tapez 2. "
        "Pour le service Propreté, tapez 3. Pour parler avec l'accueil, tapez 0."
    )
    assert book.menu("en").text.endswith("To speak to the reception desk, press 0.")
    assert book.menu("de").text.endswith(
        "Das Bürgeramt: Taste 1. Das Bauamt: Taste 2. Die Stadtreinigung: Taste 3. "
        "Der Empfang: Taste 0."
    )
    assert [(o.digit, o.target) for o in book.keypad.top] == [
        ("1", "population"),
        ("2", "urbanism"),
        ("3", "waste"),
        ("0", "operator"),
    ]


def test_a_department_using_the_operator_digit_is_refused() -> None:
    kb = city_kb()
    population = dataclasses.replace(kb.departments[0], dtmf="0")
    kb = dataclasses.replace(kb, departments=(population, *kb.departments[1:]))
    with pytest.raises(
        ValueError, match=r"departments\[population\]\.dtmf: key 0 is the operator's"
    ):
        PromptBook(kb)


def test_clarifying_question_names_both_options() -> None:
    book = PromptBook(city_kb())
    assert book.clarify("faq:id_card", "faq:passport", "fr").text == (
        "Votre demande concerne-t-elle la question : Comment renouveler ma carte d'identité, "
        "ou plutôt la question : Comment obtenir un passeport ?"
    )
    assert book.clarify("population", "urbanism", "en").text == (
        "Is your request about the Population office, or rather the Planning office?"
    )


def test_faq_title_is_the_first_question_without_its_question_mark() -> None:
    entry = city_kb().faq_entry("passport")
    assert faq_title(entry, "fr") == "Comment obtenir un passeport"


def test_language_unavailable_lists_the_offered_languages_in_the_current_one() -> None:
    assert PromptBook(minimal_kb()).language_unavailable("fr").text == (
        "Je suis désolé, je ne peux vous répondre qu'en français ou anglais."
    )
    assert PromptBook(city_kb()).language_unavailable("en").text == (
        "I am sorry, I can only answer in French, Dutch, English or German."
    )


def test_prompt_texts_cover_every_language_with_the_same_keys() -> None:
    texts = prompt_texts(city_kb())
    assert set(texts) == {"fr", "nl", "en", "de"}
    # The language offer to a caller greeted in one language is said in another one.
    key_sets = [
        {k for k in by_key if not k.startswith("language_offer:")} for by_key in texts.values()
    ]
    assert all(keys == key_sets[0] for keys in key_sets)
    assert {k for k in texts["fr"] if k.startswith("language_offer:")} == {
        "language_offer:nl",
        "language_offer:en",
        "language_offer:de",
    }
    assert texts["nl"]["language_offer:fr"] == "Nederlands, English of Deutsch?"
    fr = texts["fr"]
    assert fr["faq:parking"] == "Un parking gratuit se trouve derrière la maison communale."
    assert fr["exception_hours:0830-1100"].endswith("de huit heures trente à onze heures.")
    assert fr["exception_hours:0800-1200"].endswith("de huit heures à douze heures.")
    assert fr["exception_closed"] == "Aujourd'hui, exceptionnellement, le service est fermé."
    assert "closed:waste" not in fr  # always open: never said
    assert "transfer:waste" in fr
    assert not DYNAMIC_PROMPT_KEYS & set(fr)
    assert all(text.strip() for by_key in texts.values() for text in by_key.values())


def test_unsupported_city_language_is_refused_naming_the_field() -> None:
    kb = minimal_kb()
    city: City = dataclasses.replace(kb.city, languages=("fr", "it"))
    with pytest.raises(ValueError, match=r"city\.languages.*'it'"):
        PromptBook(dataclasses.replace(kb, city=city))


def test_missing_translation_is_refused_naming_the_field() -> None:
    kb = minimal_kb()
    waste = dataclasses.replace(kb.departments[1], name={"fr": "Propreté"})
    with pytest.raises(ValueError, match=r"departments\[waste\]\.name: no text in 'en'"):
        PromptBook(dataclasses.replace(kb, departments=(kb.departments[0], waste)))
