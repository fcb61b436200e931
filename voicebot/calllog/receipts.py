"""Who waits for which call record, and what became of the recent ones.

The writer stores records on its own thread; a process that must know when one call's
record is in the database (the demo reads it back through the API, a tool may want to
link to it) asks :meth:`RecordReceipts.receipt` for a future instead of sleeping and
hoping. Outcomes are kept for the last ``keep`` records, so asking after the record was
stored still answers at once: the call path never has to announce its call ids first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future


class RecordRefusedError(RuntimeError):
    """The database refused the record (it is kept in the spool's rejected file)."""

    def __init__(self, call_id: str, reason: str) -> None:
        super().__init__(f"call {call_id}: the database refused its record: {reason}")
        self.call_id = call_id
        self.reason = reason


class RecordReceipts:
    """Futures per call id, resolved by the writer thread once the record is stored."""

    def __init__(self, keep: int = 1024) -> None:
        if keep < 1:
            raise ValueError(f"RecordReceipts keep must be at least 1, got {keep}")
        self._keep = keep
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Future[None]]] = {}
        self._outcomes: OrderedDict[str, RecordRefusedError | None] = OrderedDict()

    def receipt(self, call_id: str) -> Future[None]:
        """A future that completes once ``call_id``'s record is in the database.

        It raises :class:`RecordRefusedError` when the database refused the record. It
        stays pending while the record waits (in the queue or the spool): bound the wait.
        """
        future: Future[None] = Future()
        with self._lock:
            if call_id in self._outcomes:
                _settle(future, self._outcomes[call_id])
            else:
                self._waiting.setdefault(call_id, []).append(future)
                future.add_done_callback(lambda done: self._forget(call_id, done))
        return future

    def stored(self, call_ids: Iterable[str]) -> None:
        """These records reached the database."""
        for call_id in call_ids:
            self._resolve(call_id, None)

    def refused(self, call_id: str, reason: str) -> None:
        """The database refused this record for good."""
        self._resolve(call_id, RecordRefusedError(call_id, reason))

    def _forget(self, call_id: str, future: Future[None]) -> None:
        # A waiter that gave up (timeout, cancel) must not stay referenced forever.
        if not future.cancelled():
            return
        with self._lock:
            waiting = self._waiting.get(call_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiting.pop(call_id, None)

    def _resolve(self, call_id: str, outcome: RecordRefusedError | None) -> None:
        with self._lock:
            self._outcomes[call_id] = outcome
            self._outcomes.move_to_end(call_id)
            while len(self._outcomes) > self._keep:
                self._outcomes.popitem(last=False)
            waiting = self._waiting.pop(call_id, [])
        for future in waiting:
            _settle(future, outcome)


def _settle(future: Future[None], outcome: RecordRefusedError | None) -> None:
    # A waiter that gave up may have cancelled its future already.
    if not future.set_running_or_notify_cancel():
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)
