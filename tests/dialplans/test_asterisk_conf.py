"""The Asterisk .conf parser reads files the way main/config.c and pbx_config.c do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.asterisk_conf import (
    ConfError,
    GotoTarget,
    extension_matches,
    goto_targets,
    load_conf,
    parse_conf,
    parse_dialplan,
    split_app,
    split_args,
    substitute,
    variable_references,
)


def test_sections_settings_and_arrows_keep_file_order_and_lines() -> None:
    conf = parse_conf("[general]\nstatic = yes\n\n[ctx]\nexten => s,1,Answer()\n", "x.conf")
    assert [s.name for s in conf.sections] == ["general", "ctx"]
    setting = conf.sections[1].settings[0]
    assert (setting.name, setting.value, setting.arrow, setting.line) == (
        "exten",
        "s,1,Answer()",
        True,
        5,
    )
    assert conf.section("general").get("STATIC") == "yes"


def test_comments_escaped_semicolons_and_block_comments_are_handled() -> None:
    text = (
        "[a] ; a section\n"
        "x = 1 ; trailing comment\n"
        "y = semi\\;colon\n"
        ";-- a block\n"
        "z = hidden\n"
        "--; w = 2\n"
    )
    section = parse_conf(text).section("a")
    assert [(s.name, s.value) for s in section.settings] == [
        ("x", "1"),
        ("y", "semi;colon"),
        ("w", "2"),
    ]


def test_unclosed_block_comment_is_an_error_naming_where_it_starts() -> None:
    with pytest.raises(ConfError, match=r"^f.conf:2: block comment"):
        parse_conf("[a]\n;-- never closed\nx = 1\n", "f.conf")


def test_templates_are_inherited_and_additions_appended() -> None:
    text = (
        "[tpl](!)\ntype = endpoint\ncontext = a\n"
        "[1000](tpl)\ncontext = b\n"
        "[1000](+)\nallow = ulaw\n"
    )
    conf = parse_conf(text)
    resolved = conf.section("1000")
    assert resolved.get("type") == "endpoint"
    assert resolved.get("context") == "b"  # the section's own value comes after the template's
    assert resolved.get("allow") == "ulaw"
    assert conf.named("tpl")[0].is_template


def test_unknown_template_is_an_error() -> None:
    conf = parse_conf("[x](nope)\na = 1\n", "p.conf")
    with pytest.raises(ConfError, match="unknown template 'nope'"):
        conf.section("x")


def test_includes_are_read_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "main.conf").write_text(
        '[a]\nx = 1\n#include "sub/more.conf"\n#tryinclude gone.conf\n'
    )
    (tmp_path / "sub" / "more.conf").write_text("[a](+)\ny = 2\n")
    conf = load_conf(tmp_path / "main.conf")
    assert conf.section("a").get_all("y") == ["2"]
    assert conf.missing == ("gone.conf",)
    assert len(conf.sources) == 2


def test_missing_include_and_include_loops_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("#include b.conf\n")
    (tmp_path / "b.conf").write_text("#include a.conf\n")
    with pytest.raises(ConfError, match="include loop"):
        load_conf(tmp_path / "a.conf")
    (tmp_path / "c.conf").write_text("[x]\n#include nowhere.conf\n")
    with pytest.raises(ConfError, match=r"c.conf:2: included file not found: nowhere.conf"):
        load_conf(tmp_path / "c.conf")


def test_exec_directive_is_refused() -> None:
    with pytest.raises(ConfError, match="#exec"):
        parse_conf("#exec /bin/date\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "outside of any section"),
        ("[a\n", "malformed section header"),
        ("[a]\njust words\n", "expected 'name = value'"),
    ],
)
def test_malformed_lines_are_errors_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfError, match=message):
        parse_conf(text, "bad.conf")


def test_dialplan_priorities_labels_and_same_lines() -> None:
    text = (
        "[globals]\nG=1\n"
        "[ctx]\n"
        "exten => s,1,Answer()\n"
        " same => n(loop),Wait(1)\n"
        " same => n,Goto(loop)\n"
        "exten => _X.,1,NoOp(${EXTEN})\n"
        "exten => _X.,n+1,Hangup\n"
        "exten => 100,hint,PJSIP/100\n"
    )
    dialplan = parse_dialplan(parse_conf(text))
    assert dialplan.globals == {"G": "1"}
    s = dialplan.context("ctx").extensions["s"]
    assert [(x.priority, x.label, x.app, x.data) for x in s.steps] == [
        (1, None, "Answer", ""),
        (2, "loop", "Wait", "1"),
        (3, None, "Goto", "loop"),
    ]
    assert [x.priority for x in dialplan.context("ctx").extensions["_X."].steps] == [1, 3]
    assert "100" not in dialplan.context("ctx").extensions


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[c]\nsame => n,NoOp()\n", "without a previous exten"),
        ("[c]\nexten => s,1,NoOp()\nexten => s,1,Hangup()\n", "priority 1 defined twice"),
        ("[c]\nexten => s,n,NoOp()\n", "has no previous priority"),
        ("[c]\nexten => s,x,NoOp()\n", "invalid priority"),
        ("[c]\nexten => s,1,Dial(PJSIP/1\n", "not closed"),
        ("[c]\nexten => s,1\n", "expected 'exten => name,priority"),
        ("[c]\nexten => s,1,NoOp()\n same => n(a),NoOp()\n same => n(a),NoOp()\n", "label"),
        ("[c]\nfoo => bar\n", "unexpected 'foo'"),
    ],
)
def test_dialplan_mistakes_are_reported(text: str, message: str) -> None:
    with pytest.raises(ConfError, match=message):
        parse_dialplan(parse_conf(text, "extensions.conf"))


def test_application_and_argument_splitting_respects_nesting() -> None:
    assert split_app("TryExec(AudioSocket(${A},h:1))") == ("TryExec", "AudioSocket(${A},h:1)")
    assert split_app("Hangup") == ("Hangup", "")
    assert split_args('PJSIP/1,20,gA(x,y),"a,b"') == ["PJSIP/1", "20", "gA(x,y)", '"a,b"']
    assert split_args("ctx,${IF($[1]?a:b)},1") == ["ctx", "${IF($[1]?a:b)}", "1"]
    assert split_args("lab1:ctx,ext,1", ":") == ["lab1", "ctx,ext,1"]


def test_variable_references_separate_variables_from_functions() -> None:
    variables, functions = variable_references(
        '$["${A}" = ""]?Set(B=${LEN(${C})}${D:0:40}${CALLERID(num)})'
    )
    assert variables == {"A", "C", "D"}
    assert functions == {"LEN", "CALLERID"}


def test_substitute_replaces_only_known_plain_variables() -> None:
    assert substitute("x,${OP},${OTHER},${LEN(a)}", {"OP": "1000"}) == "x,1000,${OTHER},${LEN(a)}"


@pytest.mark.parametrize(
    ("pattern", "exten", "matches"),
    [
        ("_X.", "2001", True),
        ("_X.", "2", False),
        ("_X.", "h", False),
        ("_X!", "2", True),
        ("_[+0-9].", "+3227731000", True),
        ("_NXX", "211", True),
        ("_NXX", "111", False),
        ("_Z.", "0800", False),
        ("s", "s", True),
        ("s", "S", False),
    ],
)
def test_extension_patterns(pattern: str, exten: str, matches: bool) -> None:
    assert extension_matches(pattern, exten) is matches


def test_goto_targets_of_goto_and_both_gotoif_branches() -> None:
    text = (
        "[c]\n"
        "exten => s,1,Goto(ctx2,${OP},1)\n"
        ' same => n,GotoIf($["${X}" = "1"]?yes:c,s,1)\n'
        " same => n(yes),Goto(1)\n"
        " same => n,GotoIf($[1]?:no)\n"
        " same => n(no),NoOp()\n"
    )
    steps = parse_dialplan(parse_conf(text)).context("c").extensions["s"].steps
    assert goto_targets(steps[0]) == [GotoTarget("ctx2", "${OP}", "1")]
    assert goto_targets(steps[1]) == [GotoTarget(None, None, "yes"), GotoTarget("c", "s", "1")]
    assert goto_targets(steps[2]) == [GotoTarget(None, None, "1")]
    assert goto_targets(steps[3]) == [GotoTarget(None, None, "no")]
    assert goto_targets(steps[4]) == []
