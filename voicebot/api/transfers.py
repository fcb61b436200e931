"""Today's transferred calls for the operators: the live board, completed by the call log.

The board has the calls this worker heard of (with their state right now); the call log
has every stored call of the day, whichever worker served it and however often the
console was reloaded or the service restarted. A call is listed once, the board's view
first.
"""

from __future__ import annotations

from datetime import datetime

from voicebot.api.board import TransferredCall
from voicebot.api.services import ApiServices
from voicebot.calllog.recent_transfers import StoredTransfer, recent_transfers
from voicebot.calllog.rows import utc_now
from voicebot.live.events import call_key

MAX_LISTED = 200
"""Cards on the console at most (a busy town hall transfers a few hundred calls a day)."""
SUMMARY_UTTERANCES = 3
"""Caller requests quoted in a stored call's summary, as the dialog's own summary does."""


def start_of_day(services: ApiServices, now: datetime | None = None) -> datetime:
    """Midnight of today in the city's time zone."""
    local = (now or utc_now()).astimezone(services.stats.timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _card(stored: StoredTransfer) -> TransferredCall:
    return TransferredCall(
        call_id=stored.call_id,
        card_key=call_key(stored.call_id),
        transferred_at=stored.requested_at,
        target=stored.target,
        reason=stored.reason,
        department=stored.department,
        extension=stored.extension,
        intent=stored.intent,
        language=stored.language,
        summary=" / ".join(stored.utterances[-SUMMARY_UTTERANCES:]),
        utterances=stored.utterances,
        sent=True,
        ended=True,
        outcome=stored.outcome,
    )


def todays_transfers(
    services: ApiServices, now: datetime | None = None, limit: int = MAX_LISTED
) -> list[TransferredCall]:
    """Calls transferred since midnight (city time), newest first."""
    since = start_of_day(services, now)
    # The board holds recent transfers only (its own time to live); its times are the call
    # path's clock, which the demo and tests may shift away from today.
    live = services.board.transfers()
    seen = {card.card_key for card in live}
    stored = [
        card
        for card in map(_card, recent_transfers(services.engine, since, limit))
        if card.card_key not in seen
    ]
    merged = sorted([*live, *stored], key=lambda card: card.transferred_at, reverse=True)
    return merged[:limit]


def find_transfer(services: ApiServices, key: str) -> TransferredCall | None:
    """The transferred call of today behind a console card's key, live or stored."""
    card = services.board.transfer_for_card(key)
    if card is not None:
        return card
    return next((c for c in todays_transfers(services) if c.card_key == key), None)
