"""The ``voicebot`` command line (``voicebot.cli.main``), one module per group of commands.

``routing`` (route, eval), ``run`` (demo, serve), ``models`` (models pull), ``admin`` (keys,
calllog) and ``kb`` (kb validate); ``errors`` holds what they share.
"""

from voicebot.cli.errors import CommandError
from voicebot.cli.main import main

__all__ = ["CommandError", "main"]
