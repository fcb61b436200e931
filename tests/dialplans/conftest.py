"""The shipped Asterisk configuration, parsed once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.asterisk_conf import ConfFile, Dialplan, load_conf, parse_dialplan

REPO = Path(__file__).resolve().parents[2]
DIALPLANS = REPO / "dialplans"


@pytest.fixture(scope="module")
def dialplan() -> Dialplan:
    return parse_dialplan(load_conf(DIALPLANS / "extensions.conf"))


@pytest.fixture(scope="module")
def manager_conf() -> ConfFile:
    return load_conf(DIALPLANS / "manager.conf")


@pytest.fixture(scope="module")
def modules_conf() -> ConfFile:
    return load_conf(DIALPLANS / "modules.conf")
