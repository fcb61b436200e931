"""Issue 13, item 4: a trailing newline (or any control character) in a value that ends up
on the AMI wire is refused where it enters (KB file, KB API) and again where it leaves
(the call control and the AMI encoder).

The attack: ``extension: "2002\\n"`` passed the schema (``$`` in Python's ``re.search``
matches before a final newline), the API PATCH accepted it, and every transfer to that
department then failed in the AMI encoder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, running_api
from voicebot.calls.control import AmiCallControl, TransferRefusedError
from voicebot.dialog import Transfer, TransferSummary
from voicebot.knowledge.loader import KnowledgeBaseError, parse_kb
from voicebot.knowledge.schema_patterns import compiled, python_pattern
from voicebot.routing.embedders import Embedder
from voicebot.telephony import contract
from voicebot.telephony.ami import AmiClient, AmiSettings
from voicebot.telephony.ami_codec import AmiEncodeError, encode_action, make_action
from voicebot.telephony.channels import ChannelDirectory

MINIMAL = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"

# (what is in minimal.yaml, what the attacker writes instead): every schema pattern of
# the KB format, each with the newline that used to slip through.
TRAILING_NEWLINES = {
    "operator extension": ('extension: "1000"', 'extension: "1000\\n"'),
    "department extension": ('extension: "2002"', 'extension: "2002\\n"'),
    "department id": ("- id: waste", '- id: "waste\\n"'),
    "faq id": ("- id: opening_hours", '- id: "opening_hours\\n"'),
    "dtmf": ('dtmf: "1"', 'dtmf: "1\\n"'),
    "hours": ('monday: ["08:00-17:00"]', 'monday: ["08:00-17:00\\n"]'),
    "exception date": ('date: "2026-12-24"', 'date: "2026-12-24\\n"'),
    "holiday": ('holidays: ["2026-07-21"]', 'holidays: ["2026-07-21\\n"]'),
    "language": ("default_language: fr", 'default_language: "fr\\n"'),
    "faq department": ("department: population", 'department: "population\\n"'),
}


@pytest.mark.parametrize("field", sorted(TRAILING_NEWLINES))
def test_kb_file_with_a_trailing_newline_in_a_wire_value_is_refused_with_its_line(
    field: str,
) -> None:
    old, new = TRAILING_NEWLINES[field]
    text = MINIMAL.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in minimal.yaml"
    broken = text.replace(old, new, 1)
    line = next(n for n, row in enumerate(broken.splitlines(), start=1) if new in row)
    with pytest.raises(KnowledgeBaseError) as info:
        parse_kb(broken, "kb.yaml")
    assert info.value.line == line, str(info.value)
    assert "\\n" in info.value.problem, str(info.value)


def _schema_patterns() -> Iterator[tuple[str, str]]:
    def walk(node: Any, name: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    yield name, value
                else:
                    yield from walk(value, name)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, name)

    package = resources.files("voicebot.knowledge")
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".schema.json"):
            yield from walk(json.loads(entry.read_text("utf-8")), entry.name)


def test_every_shipped_schema_pattern_is_anchored_and_refuses_a_final_newline() -> None:
    patterns = list(_schema_patterns())
    assert len(patterns) >= 6, patterns
    for schema, pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), (schema, pattern)
        checked = compiled(pattern)
        # The shortest string each pattern takes, found by trying the KB's alphabet.
        sample = next(
            s
            for s in ("1", "fr", "a", "2002", "2026-07-21", "08:00-17:00", "population")
            if checked.search(s)
        )
        assert not checked.search(sample + "\n"), (schema, pattern)
        assert not checked.search(sample + "\r\n"), (schema, pattern)


def test_schema_pattern_translation_keeps_escapes_and_classes() -> None:
    assert python_pattern(r"^[0-9]{4}$") == r"^[0-9]{4}\Z"
    assert python_pattern(r"^a\$b$") == r"^a\$b\Z"
    assert python_pattern(r"^[$]x[^]$]$") == r"^[$]x[^]$]\Z"
    assert python_pattern(r"^(a$|b$)") == r"^(a\Z|b\Z)"


@pytest.fixture
def kb_api(tmp_path: Path, use_embedder: Embedder) -> Iterator[Api]:
    with running_api("sqlite", tmp_path, use_embedder) as api:
        yield api


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/kb/departments/waste", {"extension": "2002\n"}),
        ("/api/kb/departments/waste", {"extension": "2002\r"}),
        ("/api/kb/departments/waste", {"extension": "2002\x00"}),
        ("/api/kb/departments/population", {"dtmf": "2\n"}),
        ("/api/kb/departments/population", {"hours": {"monday": ["08:00-12:00\n"]}}),
        ("/api/kb/departments/population", {"services": ["population_id_card\n"]}),
        ("/api/kb/faq/opening_hours", {"department": "waste\n"}),
    ],
)
def test_api_patch_with_a_control_character_in_a_wire_value_is_422_and_changes_nothing(
    kb_api: Api, path: str, body: dict[str, Any]
) -> None:
    before = kb_api.kb_path.read_bytes()
    response = kb_api.client.patch(path, json=body, headers=kb_api.as_role("admin"))
    assert response.status_code == 422, response.text
    assert "wrong format" in response.text or "unknown" in response.text, response.text
    assert kb_api.kb_path.read_bytes() == before


def test_api_statistics_language_with_a_final_newline_is_422(kb_api: Api) -> None:
    response = kb_api.client.get(
        "/api/stats/summary", params={"language": "fr\n"}, headers=kb_api.as_role("admin")
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("value", ["2002\n", "2002\r", "20\x0002", "2002\x1b[0m", "20\x7f02"])
def test_ami_encoder_refuses_control_characters_in_any_value(value: str) -> None:
    action = make_action("Redirect", {"Channel": "PJSIP/a-1", "Exten": value, "Priority": 1})
    with pytest.raises(AmiEncodeError, match="control character"):
        encode_action(action, "1")


def test_ami_encoder_still_writes_ordinary_text_and_tabs() -> None:
    action = make_action("Setvar", {"Variable": "VB_SUMMARY", "Value": "carte d'identité\tperdue"})
    assert encode_action(action, "7").endswith(b"Value: carte d'identit\xc3\xa9\tperdue\r\n\r\n")


@pytest.mark.parametrize("extension", ["2002\n", "", "2002 ", "20,02", "1" * 17, "٢٠٠٢"])
async def test_call_control_refuses_a_bad_extension_before_sending_anything(
    extension: str,
) -> None:
    # Not connected on purpose: a refused transfer must fail before the first action.
    ami = AmiClient(AmiSettings(port=1, username="voicebot", secret="x"))
    control = AmiCallControl(ami, ChannelDirectory(), reconnect_wait_s=0.0)
    summary = TransferSummary("waste", "waste", "mes poubelles", "fr")
    with pytest.raises(TransferRefusedError, match="extension"):
        await control.transfer("call-1", "PJSIP/a-1", Transfer(extension, "waste", summary), None)


def test_call_control_and_kb_schema_agree_on_what_an_extension_is() -> None:
    schema = json.loads(
        resources.files("voicebot.knowledge").joinpath("kb.schema.json").read_text("utf-8")
    )
    defs = schema["$defs"]
    assert defs["extension"]["pattern"] == f"^{contract.EXTENSION_PATTERN}$"
    assert defs["language"]["pattern"] == f"^{contract.LANGUAGE_PATTERN}$"
    assert contract.TARGET_PATTERN.endswith("|" + defs["id"]["pattern"][1:-1])
