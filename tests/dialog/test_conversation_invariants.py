"""Random conversations: whatever happens, the dialog keeps its promises to the session.

- every ``Play`` text is in the pre-render list under its key (or is the dynamic
  ``clarify`` question), so the TTS layer never meets an unknown fixed text;
- ``EndCall`` comes at most once, last; after a hang-up exactly once; nothing after it;
- ``HangUp`` is always followed by ``EndCall``; ``Transfer`` never shares a step with speech;
- the final record holds exactly the turns, transfers and callbacks handed out on the way,
  is accepted by the call log, and its outcome agrees with them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dialog.driver import (
    CALLER,
    CHRISTMAS_EVE_LATE,
    HOLIDAY_MORNING,
    MONDAY_EVENING,
    MONDAY_LUNCH,
    MONDAY_MORNING,
    city_kb,
    decision,
    minimal_kb,
)
from voicebot.calllog.rows import validate_record
from voicebot.dialog.actions import (
    Action,
    EndCall,
    HangUp,
    Play,
    RecordCallback,
    RecordTurn,
    Transfer,
)
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import (
    BargeIn,
    CallStarted,
    DtmfDigit,
    Event,
    Hangup,
    PlaybackFinished,
    SilenceTimeout,
    Tick,
    TransferResult,
    Utterance,
)
from voicebot.dialog.machine import Dialog
from voicebot.dialog.prompts import DYNAMIC_PROMPT_KEYS, prompt_texts
from voicebot.knowledge.model import KnowledgeBase
from voicebot.records import CallOutcome, TransferStatus
from voicebot.routing.decision import RouteDecision

LABELS = {
    "city": [
        "faq:id_card", "faq:passport", "faq:bulky_waste", "faq:parking",
        "population", "urbanism", "waste", "operator", "none",
    ],
    "minimal": ["faq:opening_hours", "population", "waste", "operator", "none"],
}  # fmt: skip
SAYINGS = [
    "oui", "non", "non merci", "au revoir", "merci", "c'est tout", "english please",
    "auf deutsch", "in het nederlands", "le premier", "la deuxième", "le passeport",
    "la population", "euh", "", "je voudrais renouveler ma carte d'identité", "yes", "no thanks",
]  # fmt: skip
MOMENTS = [MONDAY_MORNING, MONDAY_LUNCH, MONDAY_EVENING, HOLIDAY_MORNING, CHRISTMAS_EVE_LATE]
DIAL = [s for s in TransferStatus if s is not TransferStatus.PENDING]
CONFIG = DialogConfig(max_call_duration=timedelta(minutes=5))


@cache
def _kb(name: str) -> KnowledgeBase:
    return city_kb() if name == "city" else minimal_kb()


@cache
def _texts(name: str) -> dict[str, dict[str, str]]:
    return prompt_texts(_kb(name))


def _decisions(kb_name: str) -> st.SearchStrategy[RouteDecision | None]:
    labels = LABELS[kb_name]
    made = st.builds(
        lambda label, ambiguous, others: decision(label, ambiguous=ambiguous, others=others),
        st.sampled_from(labels),
        st.booleans(),
        st.lists(st.sampled_from(labels), max_size=3),
    )
    return st.none() | made


Step = tuple[object, ...]


def _steps(kb_name: str) -> st.SearchStrategy[list[Step]]:
    step = st.one_of(
        st.tuples(
            st.just("say"),
            st.sampled_from(SAYINGS),
            _decisions(kb_name),
            st.sampled_from([None, 0.2, 0.95]),
            st.sampled_from([None, None, "fr", "en", "nl", "de"]),
        ),
        st.tuples(st.just("press"), st.sampled_from("0123456789*#")),
        st.just(("silence",)),
        st.just(("played",)),
        st.just(("played_one",)),
        st.just(("barge_in",)),
        st.tuples(st.just("tick"), st.integers(1, 400)),
        st.tuples(st.just("dial"), st.sampled_from(DIAL)),
        st.just(("hangup",)),
    )
    return st.lists(step, max_size=25)


class _Run:
    def __init__(self, kb_name: str, start: datetime, caller: str | None) -> None:
        self.kb_name = kb_name
        self.dialog = Dialog(_kb(kb_name), CONFIG)
        self.at = start
        self.results: list[list[Action]] = []
        self.play_ids: list[int] = []
        self.reported = 0
        self.send(CallStarted(start, "call-p", caller, None, "PJSIP/x"))

    def send(self, event: Event) -> None:
        self.results.append(self.dialog.handle(event))
        self.play_ids += [a.play_id for a in self.results[-1] if isinstance(a, Play)]

    def step(self, step: Step) -> None:
        self.at += timedelta(seconds=3)
        kind = step[0]
        if kind == "say":
            _, text, routed, confidence, language = step
            self.send(Utterance(self.at, str(text), confidence, language, routed))  # type: ignore[arg-type]
        elif kind == "press":
            self.send(DtmfDigit(self.at, str(step[1])))
        elif kind == "silence":
            self.send(SilenceTimeout(self.at))
        elif kind in ("played", "played_one") and self.play_ids:
            newer = [i for i in self.play_ids if i > self.reported]
            if newer:
                self.reported = max(newer) if kind == "played" else min(newer)
                self.send(PlaybackFinished(self.at, self.reported))
        elif kind == "barge_in":
            self.send(BargeIn(self.at))
        elif kind == "tick":
            self.at += timedelta(seconds=int(step[1]))  # type: ignore[call-overload]
            self.send(Tick(self.at))
        elif kind == "dial":
            self.send(TransferResult(self.at, step[1]))  # type: ignore[arg-type]
        elif kind == "hangup":
            self.send(Hangup(self.at))


@settings(max_examples=300, deadline=None)
@given(
    kb_name=st.sampled_from(["city", "minimal"]),
    start=st.sampled_from(MOMENTS),
    caller=st.sampled_from([CALLER, None]),
    data=st.data(),
)
def test_random_conversations_keep_the_dialog_promises(
    kb_name: str, start: datetime, caller: str | None, data: st.DataObject
) -> None:
    run = _Run(kb_name, start, caller)
    for step in data.draw(_steps(kb_name)):
        run.step(step)
    run.send(Hangup(run.at + timedelta(seconds=1)))
    run.send(Hangup(run.at + timedelta(seconds=2)))

    actions = [a for result in run.results for a in result]
    texts = _texts(kb_name)
    for play in (a for a in actions if isinstance(a, Play)):
        if play.prompt_key in DYNAMIC_PROMPT_KEYS:
            assert play.text
        else:
            assert texts[play.language].get(play.prompt_key) == play.text, play

    ends = [a for a in actions if isinstance(a, EndCall)]
    assert len(ends) == 1
    assert isinstance(actions[-1], EndCall)
    for result in run.results:
        if any(isinstance(a, HangUp) for a in result):
            assert isinstance(result[-1], EndCall)
        if any(isinstance(a, Transfer) for a in result):
            assert not any(isinstance(a, Play) for a in result)
    assert run.play_ids == sorted(set(run.play_ids))

    record = ends[0].record
    validate_record(record)
    assert record.turns == tuple(a.turn for a in actions if isinstance(a, RecordTurn))
    assert record.callbacks == tuple(a.request for a in actions if isinstance(a, RecordCallback))
    assert len(record.transfers) == sum(isinstance(a, Transfer) for a in actions)
    assert [t.index for t in record.turns] == list(range(len(record.turns)))
    if record.outcome in (CallOutcome.TRANSFERRED, CallOutcome.OPERATOR):
        assert record.transfers
    if record.outcome is CallOutcome.CALLBACK:
        assert record.callbacks and caller is not None
    if record.outcome is CallOutcome.ANSWERED:
        assert any(t.action == "answer" for t in record.turns)
