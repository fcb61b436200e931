"""``voicebot demo``: simulated calls through the real pipeline (``run``), the simulated
caller (``caller``), what is printed while they run (``progress``), the proof that each
record was stored and can be read back (``records``), and the sign-ins of ``--serve``
(``staff``)."""

from voicebot.demo.errors import DemoError
from voicebot.demo.run import DEFAULT_CONVERSATIONS, DemoOptions, last_weekday_morning, run_demo

__all__ = ["DEFAULT_CONVERSATIONS", "DemoError", "DemoOptions", "last_weekday_morning", "run_demo"]
