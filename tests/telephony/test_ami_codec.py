"""AMI codec against raw bytes: banner, framing, classification, multi-value keys, actions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicebot.telephony.ami_codec import (
    AmiAction,
    AmiEncodeError,
    AmiEvent,
    AmiHeaders,
    AmiMalformedBlock,
    AmiProtocolError,
    AmiResponse,
    AmiStreamDecoder,
    encode_action,
    make_action,
    parse_banner,
    split_headers,
)
from voicebot.telephony.ami_server_codec import AmiActionDecoder

# A recorded-style session: login, FullyBooted, an async Originate of Local/s@citizen into
# bot,s,1 with the event order observed on Asterisk master, the bot's UserEvent (whose
# snapshot Channel is followed by the dialplan's own Channel), and a Command reply.
RECORDED = (
    b"Asterisk Call Manager/12.0.0\r\n"
    b"Response: Success\r\nActionID: vb-1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 12\r\nLastReload: 12\r\n"
    b"Status: Fully Booted\r\n\r\n"
    b"Response: Success\r\nActionID: vb-2\r\nMessage: Originate successfully queued\r\n\r\n"
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/s@citizen-00000001;1\r\n"
    b"ChannelState: 0\r\nChannelStateDesc: Down\r\nCallerIDNum: <unknown>\r\n"
    b"CallerIDName: <unknown>\r\nConnectedLineNum: <unknown>\r\n"
    b"ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\nContext: bot\r\n"
    b"Exten: s\r\nPriority: 1\r\nUniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n\r\n"
    b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: vb-2\r\n"
    b"Response: Success\r\nChannel: Local/s@citizen-00000001;1\r\nContext: bot\r\n"
    b"Exten: s\r\nReason: 4\r\nUniqueid: 1700000000.1\r\nCallerIDNum: <unknown>\r\n"
    b"CallerIDName: <unknown>\r\n\r\n"
    b"Event: UserEvent\r\nPrivilege: user,all\r\nChannel: Local/s@citizen-00000001;1\r\n"
    b"Uniqueid: 1700000000.1\r\nUserEvent: VoicebotCall\r\n"
    b"UUID: 40325ec2-5efd-4bd3-805f-53576e581d13\r\n"
    b"Channel: Local/s@citizen-00000001;1\r\n\r\n"
    b"Response: Success\r\nActionID: vb-3\r\nMessage: Command output follows\r\n"
    b"Output: Name/username             Host\r\nOutput: \r\nOutput: 2 objects found.\r\n\r\n"
)


def _decode_all(data: bytes) -> tuple[AmiStreamDecoder, list[object]]:
    decoder = AmiStreamDecoder()
    return decoder, list(decoder.feed(data))


def test_banner_line_gives_the_ami_version() -> None:
    banner = parse_banner("Asterisk Call Manager/12.0.0\r\n")
    assert banner.version == (12, 0, 0)
    with pytest.raises(AmiProtocolError, match="not an Asterisk manager banner"):
        parse_banner("SSH-2.0-OpenSSH_9.2")


def test_recorded_stream_is_classified_block_by_block() -> None:
    decoder, blocks = _decode_all(RECORDED)
    assert decoder.banner is not None and decoder.banner.version == (12, 0, 0)
    kinds = [type(b).__name__ for b in blocks]
    assert kinds == [
        "AmiResponse",
        "AmiEvent",
        "AmiResponse",
        "AmiEvent",
        "AmiEvent",
        "AmiEvent",
        "AmiResponse",
    ]


def test_originate_response_is_an_event_even_though_it_carries_response() -> None:
    _, blocks = _decode_all(RECORDED)
    originate = blocks[4]
    assert isinstance(originate, AmiEvent)
    assert originate.name == "OriginateResponse"
    assert originate.get("Response") == "Success"
    assert originate.action_id == "vb-2"


def test_stream_split_at_every_byte_boundary_parses_identically() -> None:
    _, expected = _decode_all(RECORDED)
    for cut in range(1, len(RECORDED)):
        decoder = AmiStreamDecoder()
        got = decoder.feed(RECORDED[:cut]) + decoder.feed(RECORDED[cut:])
        assert got == expected, f"split at byte {cut}"


def test_stream_fed_one_byte_at_a_time_parses_identically() -> None:
    _, expected = _decode_all(RECORDED)
    decoder = AmiStreamDecoder()
    got = []
    for i in range(len(RECORDED)):
        got.extend(decoder.feed(RECORDED[i : i + 1]))
    assert got == expected


def test_repeated_keys_keep_every_value_in_order() -> None:
    _, blocks = _decode_all(RECORDED)
    user_event = blocks[5]
    assert isinstance(user_event, AmiEvent)
    assert user_event.headers.get_all("Channel") == [
        "Local/s@citizen-00000001;1",
        "Local/s@citizen-00000001;1",
    ]
    assert user_event.get("uuid") == "40325ec2-5efd-4bd3-805f-53576e581d13"  # any case


def test_command_output_lines_are_kept_including_empty_ones() -> None:
    _, blocks = _decode_all(RECORDED)
    command = blocks[6]
    assert isinstance(command, AmiResponse)
    assert command.output == ["Name/username             Host", "", "2 objects found."]


def test_empty_value_header_is_an_empty_string() -> None:
    _, blocks = _decode_all(RECORDED)
    newchannel = blocks[3]
    assert isinstance(newchannel, AmiEvent)
    assert newchannel.get("AccountCode") == ""


def test_legacy_follows_body_is_returned_as_output() -> None:
    data = (
        b"Asterisk Call Manager/2.10.4\r\n"
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
        b"No such command 'core show hi'\n--END COMMAND--\r\n\r\n"
    )
    _, blocks = _decode_all(data)
    (response,) = blocks
    assert isinstance(response, AmiResponse)
    assert response.output == ["No such command 'core show hi'"]


def test_bare_lf_line_ends_and_padding_between_blocks_are_tolerated() -> None:
    data = b"Asterisk Call Manager/9.0.0\nEvent: One\n\n\r\n\nEvent: Two\r\n\r\n"
    _, blocks = _decode_all(data)
    assert [b.name for b in blocks if isinstance(b, AmiEvent)] == ["One", "Two"]


def test_block_with_neither_event_nor_response_is_reported_not_fatal() -> None:
    data = b"Asterisk Call Manager/9.0.0\r\nFoo: bar\r\n\r\nEvent: After\r\n\r\n"
    _, blocks = _decode_all(data)
    assert isinstance(blocks[0], AmiMalformedBlock)
    assert "neither Event nor Response" in blocks[0].reason
    assert isinstance(blocks[1], AmiEvent)


def test_garbage_instead_of_banner_and_endless_block_are_protocol_errors() -> None:
    with pytest.raises(AmiProtocolError):
        AmiStreamDecoder().feed(b"HTTP/1.1 400 Bad Request\r\n")
    decoder = AmiStreamDecoder(max_block=100)
    decoder.feed(b"Asterisk Call Manager/9.0.0\r\n")
    with pytest.raises(AmiProtocolError, match="exceeds 100 bytes"):
        decoder.feed(b"Event: X\r\n" + b"A: " + b"x" * 200)


def test_list_reply_helpers_follow_eventlist_headers() -> None:
    data = (
        b"Asterisk Call Manager/9.0.0\r\n"
        b"Response: Success\r\nActionID: 4\r\nEventList: start\r\n"
        b"Message: Channels will follow\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nEventList: Complete\r\nListItems: 0\r\n"
        b"ActionID: 4\r\n\r\n"
    )
    _, blocks = _decode_all(data)
    response, complete = blocks
    assert isinstance(response, AmiResponse) and response.starts_list
    assert isinstance(complete, AmiEvent) and complete.completes_list


def test_action_is_serialised_with_action_id_and_repeated_variables() -> None:
    action = make_action(
        "Originate",
        {
            "Channel": "Local/s@citizen",
            "Context": "bot",
            "Exten": "s",
            "Priority": 1,
            "Application": None,
        },
        variables={"VB_LANG": "fr", "VB_SOURCE": "test"},
    )
    assert encode_action(action, "vb-9") == (
        b"Action: Originate\r\nActionID: vb-9\r\nChannel: Local/s@citizen\r\nContext: bot\r\n"
        b"Exten: s\r\nPriority: 1\r\nVariable: VB_LANG=fr\r\nVariable: VB_SOURCE=test\r\n\r\n"
    )


def test_header_injection_and_overlong_lines_are_refused() -> None:
    with pytest.raises(
        AmiEncodeError, match="'Value': value contains the control character '\\\\r'"
    ):
        encode_action(make_action("Setvar", {"Value": "x\r\nAction: Hangup"}), "1")
    with pytest.raises(AmiEncodeError, match="discards lines over 1024"):
        encode_action(AmiAction("Setvar", (("Value", "x" * 1100),)), "1")
    with pytest.raises(AmiEncodeError, match="must not contain '='"):
        make_action("Originate", variables={"A=B": "c"})


def test_server_side_action_decoder_splits_client_actions() -> None:
    decoder = AmiActionDecoder()
    blocks = decoder.feed(b"Action: Login\r\nUsername: u\r\nSecret: s\r\n\r\nAction: Ping\n\n")
    assert [b.headers.get("Action") for b in blocks] == ["Login", "Ping"]
    too_long = decoder.feed(b"Action: Setvar\r\nValue: " + b"x" * 1100 + b"\r\n\r\n")
    assert too_long[0].line_too_long


def test_headers_lookup_is_case_insensitive_and_ordered() -> None:
    headers = AmiHeaders((("Variable", "A=1"), ("variable", "B=2")))
    assert headers.get_all("VARIABLE") == ["A=1", "B=2"]
    assert "Variable" in headers
    with pytest.raises(KeyError, match="no 'Channel' header"):
        headers.require("Channel")


_LINE = st.text(alphabet="aAbB:- \r\u0130\u00e9", min_size=0, max_size=12)


@given(st.lists(_LINE, min_size=1, max_size=8), st.sampled_from(["a", "A", "b", "ab", "é", "a-b"]))
def test_a_header_found_by_searching_the_text_is_the_one_a_full_split_finds(
    lines: list[str], key: str
) -> None:
    text = "".join(line.replace("\n", "") + "\r\n" for line in lines)
    lazy = AmiHeaders.from_text(text)
    split = AmiHeaders(split_headers(text)[0])
    assert lazy.get(key) == split.get(key)
    assert lazy.items == split.items


def test_headers_from_text_are_read_without_splitting_and_equal_the_split_ones() -> None:
    text = "Event: Hangup\r\nChannel: PJSIP/a-1\r\nAccountCode: \r\nchannel: second\r\n"
    lazy = AmiHeaders.from_text(text)
    assert lazy.get("CHANNEL") == "PJSIP/a-1"
    assert lazy.get("AccountCode") == ""
    assert lazy.get("ActionID") is None
    assert lazy == AmiHeaders(
        (
            ("Event", "Hangup"),
            ("Channel", "PJSIP/a-1"),
            ("AccountCode", ""),
            ("channel", "second"),
        )
    )
    assert lazy.get_all("Channel") == ["PJSIP/a-1", "second"]
