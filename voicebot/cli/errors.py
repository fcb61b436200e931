"""What every sub-command shares: the handler signature and the one error it raises."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeAlias

from voicebot.config import Settings

Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]
"""A sub-command: parsed arguments and settings in, exit code out."""

SubParsers: TypeAlias = "argparse._SubParsersAction[Any]"
"""What ``ArgumentParser.add_subparsers()`` returns (a private argparse type)."""


class CommandError(RuntimeError):
    """A command cannot do its job; printed as ``voicebot: <message>`` with exit code 2."""
