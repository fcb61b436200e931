"""The one error of the demo."""

from __future__ import annotations


class DemoError(RuntimeError):
    """The demo cannot run as asked, or a call did not reach the call log; the message
    says what happened and what to do."""
