"""Honest containment: an answer counts only if the caller did not ask again after it."""

from __future__ import annotations

import pytest

from voicebot.calllog.containment import TurnFacts, is_contained


def turns(*pairs: tuple[str, str]) -> list[TurnFacts]:
    return [TurnFacts(intent, action) for intent, action in pairs]


ANSWER = ("faq:parc-conteneurs", "answer")


@pytest.mark.parametrize(
    ("call", "contained"),
    [
        (turns(ANSWER), True),
        (turns(ANSWER, ("no", "goodbye")), True),
        (
            turns(("none", "rephrase"), ANSWER, ("goodbye", "goodbye")),
            True,
        ),  # asked twice, then helped
        (turns(ANSWER, ("faq:horaires", "answer"), ("no", "goodbye")), True),  # a second question
        (turns(ANSWER, ("dtmf:9", "prompt"), ("hangup", "goodbye")), True),  # dialog acts only
        # The rats in the park: a wrong answer, the caller says it again differently.
        (turns(ANSWER, ("none", "rephrase")), False),
        (turns(ANSWER, ("faq:parc-conteneurs", "answer")), False),  # the same answer again
        (turns(ANSWER, ("operator", "operator")), False),  # asked for a person
        (turns(ANSWER, ("population", "closed")), False),  # a department, closed
        (turns(ANSWER, ("yes", "callback")), False),  # accepted a callback offer
        (turns(("none", "rephrase")), False),  # nothing answered
        (turns(), False),
    ],
)
def test_answered_calls(call: list[TurnFacts], contained: bool) -> None:
    assert is_contained("answered", call, transfers=0, callbacks=0) is contained


def test_transfers_callbacks_and_other_outcomes_are_never_contained() -> None:
    assert not is_contained("answered", turns(ANSWER), transfers=1, callbacks=0)
    assert not is_contained("answered", turns(ANSWER), transfers=0, callbacks=1)
    for outcome in ("transferred", "operator", "callback", "abandoned", "failed"):
        assert not is_contained(outcome, turns(ANSWER), transfers=0, callbacks=0)
