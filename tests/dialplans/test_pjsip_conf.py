"""dialplans/pjsip.conf gives the demo a phone for every extension the assistant dials."""

from __future__ import annotations

from tests.support.asterisk_conf import Dialplan, load_conf
from voicebot.knowledge.loader import load_kb, sample_kb_path
from voicebot.telephony import contract

from .conftest import DIALPLANS


def test_every_knowledge_base_extension_has_an_endpoint_auth_and_aor() -> None:
    conf = load_conf(DIALPLANS / "pjsip.conf")
    kb = load_kb(sample_kb_path())
    for extension in [kb.operator.extension, *(d.extension for d in kb.departments)]:
        objects = {
            conf.resolve(s).get("type"): conf.resolve(s)
            for s in conf.named(extension)
            if not s.is_template
        }
        assert set(objects) == {"endpoint", "auth", "aor"}, f"{extension}: {sorted(objects)}"
        endpoint = objects["endpoint"]
        assert endpoint.get("auth") == extension and endpoint.get("aors") == extension
        assert objects["auth"].get("username") == extension


def test_demo_phones_can_only_reach_the_assistant(dialplan: Dialplan) -> None:
    conf = load_conf(DIALPLANS / "pjsip.conf")
    endpoints = [
        conf.resolve(s)
        for s in conf.sections
        if not s.is_template and conf.resolve(s).get("type") == "endpoint"
    ]
    assert len(endpoints) >= 15
    for endpoint in endpoints:
        assert endpoint.get("context") == contract.INCOMING_CONTEXT, endpoint.name
        assert endpoint.get("transport") in {s.name for s in conf.sections}
    # Whatever a demo phone dials lands on the assistant.
    incoming = dialplan.context(contract.INCOMING_CONTEXT)
    assert incoming.match("0227731000") is not None
