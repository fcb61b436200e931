"""dialplans/manager.conf: a least-privilege AMI user that still gets all it needs."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path

from tests.support.asterisk_conf import ConfFile
from voicebot.telephony import contract
from voicebot.telephony.ami_codec import AmiEvent
from voicebot.telephony.channels import ChannelDirectory
from voicebot.telephony.simulator.rights import (
    ACTION_CLASSES,
    VOICEBOT_RIGHTS,
    AmiUserRights,
    EventFilters,
    action_allowed,
    event_delivered,
    parse_classes,
)

from .conftest import REPO
from .flows import run_flows, simulated_pbx

AMI_MODULE = REPO / "voicebot" / "telephony" / "ami.py"


def _actions_sent_by(path: Path) -> set[str]:
    """Names passed to make_action("...") in the connector's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "make_action"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def test_the_voicebot_user_has_no_secret_in_the_shipped_file(manager_conf: ConfFile) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    assert user.get("secret") is None, "manager.conf must not carry a usable secret"
    assert "manager_voicebot_secret.conf" in manager_conf.missing, "the secret include is gone"


def test_login_is_only_possible_from_loopback_and_private_networks(
    manager_conf: ConfFile,
) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    rules = [
        (s.name.lower(), s.value) for s in user.settings if s.name.lower() in ("deny", "permit")
    ]
    assert rules[0] == ("deny", "0.0.0.0/0.0.0.0"), "deny everything first"
    for kind, value in rules[1:]:
        assert kind == "permit"
        network = ipaddress.ip_network(value, strict=False)
        assert network.is_private, f"permit {value} opens AMI beyond private networks"
    assert ("permit", "127.0.0.1/255.255.255.255") in rules


def test_every_action_the_connector_sends_is_granted_or_deliberately_refused(
    manager_conf: ConfFile,
) -> None:
    write = parse_classes(manager_conf.section(contract.AMI_USERNAME).get("write") or "")
    sent = _actions_sent_by(AMI_MODULE)
    assert {"Login", "Ping", "Setvar", "Redirect"} <= sent  # the scan does find them
    expected = {str(a) for a in contract.AmiAction} | set(contract.AMI_ACTIONS_NOT_GRANTED)
    assert sent <= expected, f"new AMI actions in ami.py: {sorted(sent - expected)}"
    for action in contract.AmiAction:
        assert action_allowed(write, action), f"write={sorted(write)} does not allow {action}"
    for action in contract.AMI_ACTIONS_NOT_GRANTED:
        assert not action_allowed(write, action), f"{action} should stay refused"


def test_write_and_read_classes_are_minimal(manager_conf: ConfFile) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    write = parse_classes(user.get("write") or "")
    for dropped in write:
        fewer = write - {dropped}
        assert not all(action_allowed(fewer, a) for a in contract.AmiAction), (
            f"write class {dropped} is not needed"
        )
    dangerous = {"system", "command", "originate", "config", "agi"}
    assert not write & dangerous
    read = parse_classes(user.get("read") or "")
    assert read == {"call", "user"}


def test_known_action_classes_cover_the_contract() -> None:
    assert {str(a) for a in contract.AmiAction} <= set(ACTION_CLASSES)


def _directory_log(events: list[AmiEvent]) -> list[tuple[str, str, str]]:
    """What a ChannelDirectory learns, in order, from a stream of events."""
    directory = ChannelDirectory()
    log: list[tuple[str, str, str]] = []
    known: dict[str, tuple[str, str, str]] = {}
    for event in events:
        directory.handle_event(event)
        call_id = (event.get("UUID") or "").lower()
        for key in [call_id, *known]:
            if not key:
                continue
            entry, hangup, result = (
                directory.channel_for(key),
                directory.hangup_for(key),
                directory.dial_result_for(key),
            )
            state = (
                entry.channel if entry else "",
                str(hangup.cause) if hangup else "",
                f"{result.status}/{result.target}" if result else "",
            )
            if known.get(key) != state:
                known[key] = state
                log.append((key, *state))
    return log


async def test_filtered_event_stream_teaches_the_channel_directory_the_same(
    manager_conf: ConfFile,
) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    read = parse_classes(user.get("read") or "")
    filters = EventFilters.parse(user.get_all("eventfilter"))
    async with simulated_pbx() as pbx:
        run = await run_flows(pbx)
    delivered = [e for e in run.events if event_delivered(read, filters, list(e.headers))]
    full_log = _directory_log(run.events)
    assert len({entry[0] for entry in full_log}) == len(run.calls)
    assert _directory_log(delivered) == full_log
    names = {e.name for e in delivered}
    assert names == {"UserEvent", "Hangup"}, names
    # The filter is what keeps the connector quiet on a busy PBX.
    assert len(delivered) * 4 < len(run.events), (len(delivered), len(run.events))


def test_event_filter_lets_through_exactly_the_directory_events(manager_conf: ConfFile) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    filters = EventFilters.parse(user.get_all("eventfilter"))
    read = parse_classes(user.get("read") or "")

    def delivered(name: str, privilege: str) -> bool:
        headers = [("Event", name), ("Privilege", privilege), ("Channel", "PJSIP/a-1")]
        return event_delivered(read, filters, headers)

    assert delivered("UserEvent", "user,all")
    assert delivered("Hangup", "call,all")
    assert delivered("Rename", "call,all")
    for name in ("HangupRequest", "SoftHangupRequest", "Newchannel", "Newexten", "VarSet"):
        assert not delivered(name, "call,all"), name
    assert not delivered("UserEvent", "user,dialplan,all"), "every class of an event is needed"


def test_the_simulators_voicebot_user_is_the_shipped_one(manager_conf: ConfFile) -> None:
    user = manager_conf.section(contract.AMI_USERNAME)
    shipped = AmiUserRights.parse(
        user.get("read") or "", user.get("write") or "", user.get_all("eventfilter")
    )
    assert VOICEBOT_RIGHTS.read == shipped.read
    assert VOICEBOT_RIGHTS.write == shipped.write
    assert [f.pattern for f in VOICEBOT_RIGHTS.filters.include] == [
        f.pattern for f in shipped.filters.include
    ]
    assert not shipped.filters.exclude
