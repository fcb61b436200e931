"""Catalogue phrases as routing examples, and the short texts that describe a KB target.

Catalogue phrases are labelled with their catalogue id here (``population``,
``federal_tax``, ``opening_hours``); ``training_set.py`` relabels them with the KB target
that holds the id once the links are known. Near misses become phrases of the id they
``goes`` to, which is exactly what they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from voicebot.knowledge.catalogue_model import NOWHERE, Catalogue
from voicebot.knowledge.model import KnowledgeBase
from voicebot.routing.decision import FAQ_PREFIX, NONE, OPERATOR
from voicebot.routing.index import Example, Origin
from voicebot.routing.text import FILLERS, normalize

_FRAGMENT_SPLIT = re.compile(r"[,;:.()/]| et | ou | en | and | or | und | oder | of ")


def catalogue_examples(catalogue: Catalogue, languages: tuple[str, ...]) -> list[Example]:
    """Every catalogue phrase (and entry name) in ``languages``, labelled by catalogue id.

    Phrases made only of greetings and hesitations ("allo", "oui bonjour") are left out:
    they say nothing about where a call should go.
    """
    examples: list[Example] = []
    for entry in catalogue.entries():
        for language in languages:
            texts = [entry.name[language]] if language in entry.name else []
            texts += entry.phrases.get(language, ())
            examples.extend(_examples(entry.id, language, texts))
    for miss in catalogue.near_misses:
        if miss.language in languages:
            label = NONE if miss.goes == NOWHERE else miss.goes
            examples.extend(_examples(label, miss.language, [miss.text]))
    return examples


def _examples(label: str, language: str, texts: list[str]) -> Iterator[Example]:
    fillers = FILLERS.get(language, frozenset())
    for text in texts:
        normal = normalize(text)
        if normal and not all(word in fillers for word in normal.split()):
            yield Example(label, language, normal, Origin.CATALOGUE)


def target_profiles(kb: KnowledgeBase) -> list[Example]:
    """What each department, FAQ entry and the operator says about itself.

    Its id in words, name, examples or questions, and its description (or FAQ answer) cut
    into fragments: a description usually lists several matters ("cartes d'identité,
    passeports, permis de conduire"), and each fragment is evidence for one service.
    """
    profiles: list[Example] = []

    def add(label: str, language: str, texts: list[str]) -> None:
        for text in texts:
            normal = normalize(text)
            if len(normal) > 2:
                profiles.append(Example(label, language, normal))

    for dept in kb.departments:
        for language in kb.city.languages:
            add(dept.id, language, [dept.id.replace("_", " "), dept.name.get(language, "")])
            add(dept.id, language, _fragments(dept.description.get(language, "")))
            add(dept.id, language, list(dept.examples.get(language, ())))
    for entry in kb.faq:
        label = FAQ_PREFIX + entry.id
        for language in kb.city.languages:
            add(label, language, [entry.id.replace("_", " ")])
            add(label, language, list(entry.questions.get(language, ())))
            add(label, language, _fragments(entry.answer.get(language, ""))[:3])
    for language in kb.city.languages:
        add(OPERATOR, language, [kb.operator.name.get(language, "")])
        add(OPERATOR, language, list(kb.operator.examples.get(language, ())))
    return profiles


def _fragments(description: str) -> list[str]:
    parts = [description, *(part.strip() for part in _FRAGMENT_SPLIT.split(description))]
    return [part for part in parts if len(part.split()) >= 1 and len(part) > 3]
