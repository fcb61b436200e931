"""Values cut between characters within Asterisk's byte limits (issue 12 item 3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.telephony import traces
from voicebot.calls.control import transfer_variables
from voicebot.dialog import Transfer
from voicebot.dialog.actions import TransferSummary
from voicebot.telephony import contract
from voicebot.telephony.ami_values import (
    CDR_USERFIELD_BYTES,
    cdr_userfield,
    cut_chars,
    cut_utf8,
)

CALL_ID = traces.calls()["utf8"]["audiosocket"]["uuid"]


@given(st.text(max_size=80), st.integers(min_value=0, max_value=120))
def test_a_utf8_cut_is_whole_characters_within_the_budget(text: str, budget: int) -> None:
    cut = cut_utf8(text, budget)
    assert len(cut.encode("utf-8")) <= budget
    if len(text.encode("utf-8")) <= budget:
        assert cut == text
    else:
        assert cut == "" or (cut.endswith("…") and text.startswith(cut[:-1]))


def test_a_character_cut_counts_its_ellipsis() -> None:
    assert cut_chars("é" * 50, 40) == "é" * 39 + "…"
    assert cut_chars("court", 40) == "court"


def _transfer(transcript: str) -> Transfer:
    return Transfer(
        extension="2003",
        target="waste",
        summary=TransferSummary(
            intent="waste", department="waste", transcript=transcript, language="fr"
        ),
    )


def test_the_cdr_userfield_fits_255_bytes_whatever_the_summary() -> None:
    # 200 characters of which most take two bytes: the whole line was ~450 bytes, and
    # Asterisk cut it at byte 255, inside a character.
    spoken = ("déchets éparpillés " * 20)[: contract.SUMMARY_MAX_CHARS]
    values = transfer_variables(CALL_ID, _transfer(spoken), "voicebot/whisper-x", "")
    line = cdr_userfield(
        CALL_ID,
        values[contract.VAR_TARGET],
        values[contract.VAR_EXTEN],
        values[contract.VAR_INTENT],
        values[contract.VAR_LANG],
        values[contract.VAR_SUMMARY],
    )
    raw = line.encode("utf-8")
    assert len(raw) <= CDR_USERFIELD_BYTES
    assert raw[:CDR_USERFIELD_BYTES].decode("utf-8") == line  # Asterisk's own cut is a no-op
    assert values[contract.VAR_SUMMARY].endswith("…")


def test_the_recorded_utf8_summary_goes_out_as_recorded_and_the_screen_pop_whole() -> None:
    recorded = "la collecte des déchets n'est pas passée près de chez moi"
    pop = f"le service Propreté publique: {recorded}"
    values = transfer_variables(CALL_ID, _transfer(recorded), "", pop)
    assert values[contract.VAR_SUMMARY] == recorded
    screen_pop = values[contract.VAR_SCREEN_POP]
    assert len(screen_pop) == contract.SCREEN_POP_MAX_CHARS
    assert screen_pop == pop[: contract.SCREEN_POP_MAX_CHARS - 1] + "…"
    assert list(values) == list(contract.ASSISTANT_SET_VARIABLES)


def test_every_value_fits_one_ami_line() -> None:
    values = transfer_variables(CALL_ID, _transfer("x" * 5000), "w", "p" * 5000)
    for value in values.values():
        assert len(f"Value: {value}".encode()) <= 1024
