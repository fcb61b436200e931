"""Personal data outside retention (issue 13 item 9), through ``voicebot serve``.

Before: while PostgreSQL was away the spool held each caller's raw number next to what
they said, ``rejected.jsonl`` kept both for ever, and ``voicebot calllog purge`` touched
neither. Now the writer pseudonymises the number before a record is queued (the spool
holds the same keyed hash the database will), and the purge erases old words from the
spool and ``rejected.jsonl`` first, even while the database is still away.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from tests.calllog.conftest import fresh_postgres_schema, postgres_base_url
from tests.calllog.tcp_proxy import TcpProxy
from tests.reliability.conftest import BotFactory
from tests.reliability.harness import Bot, CallKind, CallResult, faq_call, wait_stored
from tests.support.serve_process import PSEUDONYM_KEY
from voicebot.calllog.models import Call, Turn
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.spool import REJECTED_FILE

pytestmark = pytest.mark.postgres

NUMBER = "0479 31 41 59"
SPELLINGS = ("0479314159", "479314159", "+32479314159", "32479314159", "0479 31 41 59")
WORDS = "Quaresma Zebulon"


@pytest.fixture
def postgres_schema() -> Iterator[URL]:
    with fresh_postgres_schema(postgres_base_url()) as url:
        yield url


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def spool_text(spool: Path) -> str:
    return "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(spool.iterdir())
        if path.is_file()
    )


def purge(bot: Bot) -> subprocess.CompletedProcess[str]:
    settings = bot.served.workdir / "voicebot.yaml"
    return subprocess.run(
        [
            *(sys.executable, "-m", "voicebot.cli", "--config", str(settings)),
            *("calllog", "purge", "--older-than-days", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=bot.served.workdir,
        check=False,
    )


def leftover_from_an_earlier_version(spool: Path) -> None:
    """A ``rejected.jsonl`` line as the previous version wrote it: raw number, words, and
    the driver's parameter dump in the reason."""
    record = {
        "call_id": "earlier-1",
        "started_at": "2026-01-05T09:00:00+00:00",
        "ended_at": "2026-01-05T09:01:00+00:00",
        "caller_number": NUMBER,
        "language": "fr",
        "outcome": "answered",
        "department": None,
        "channel": "PJSIP/x-1",
        "turns": [
            {
                "call_id": "earlier-1",
                "index": 0,
                "started_at": "2026-01-05T09:00:05+00:00",
                "language": "fr",
                "transcript": f"je suis {WORDS}",
                "asr_confidence": 0.9,
                "intent": "none",
                "score": 0.1,
                "margin": 0.0,
                "action": "rephrase",
                "reply_text": "pardon ?",
                "dtmf": None,
                "timings_ms": {},
            }
        ],
        "transfers": [],
        "callbacks": [],
    }
    entry = {
        "rejected_at": "2026-01-05T09:01:01+00:00",
        "reason": f"(psycopg.errors.X) refused\n[parameters: {{'transcript': 'je suis {WORDS}'}}]",
        "data": json.dumps(record),
    }
    spool.mkdir(parents=True, exist_ok=True)
    (spool / REJECTED_FILE).write_text(json.dumps(entry) + "\n", encoding="utf-8")


async def test_spool_holds_no_caller_number_and_purge_erases_words_in_it(
    tmp_path: Path, bots: BotFactory, question_speech: bytes, postgres_schema: URL
) -> None:
    spool = tmp_path / "serve" / "data" / "spool"
    leftover_from_an_earlier_version(spool)
    proxy = TcpProxy(postgres_schema.host or "127.0.0.1", postgres_schema.port or 5432)
    proxy.start()
    try:
        bot = await bots(
            database_url=url_text(postgres_schema.set(host="127.0.0.1", port=proxy.port)),
            check_url=url_text(postgres_schema),
        )
        proxy.cut()
        result = CallResult(CallKind.FAQ, NUMBER)
        await asyncio.wait_for(faq_call(bot, question_speech, result, f"je m'appelle {WORDS}"), 60)
        async with asyncio.timeout(60):
            while result.call_id not in spool_text(spool):
                await asyncio.sleep(0.2)
        during = spool_text(spool)
        segments = _segments_text(spool)
        assert WORDS in segments  # the words wait for the database, the number does not
        assert not [s for s in SPELLINGS if s in segments], segments
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in spool.iterdir()}
        assert set(modes.values()) == {0o600}, modes

        started = time.monotonic()
        purged = purge(bot)  # the database is still away: the spool is purged first
        purge_s = time.monotonic() - started
        assert purged.returncode != 0, purged.stdout
        assert "call log database unavailable" in purged.stderr
        assert "spool" in purged.stdout and "1 caller number(s) pseudonymised" in purged.stdout
        after = spool_text(spool)
        assert WORDS not in after, after
        assert not [s for s in SPELLINGS if s in after], after
        assert "parameters" not in after

        proxy.restore()
        assert await wait_stored(bot.engine, 1, timeout=60) == 1
    finally:
        proxy.close()
    expected_hash = Pseudonymizer(PSEUDONYM_KEY.encode(), "32").caller_hash(NUMBER)
    with bot.engine.connect() as connection:
        call_hash = connection.execute(
            select(Call.caller_hash).where(Call.call_id == result.call_id)
        ).scalar_one()
        transcripts = connection.execute(select(Turn.transcript)).scalars().all()
    assert call_hash == expected_hash
    assert transcripts and all(t is None for t in transcripts), transcripts
    print(
        f"\nspool during the outage: {len(during)} bytes, no spelling of the number, "
        f"words present; purge (database away) in {purge_s:.1f} s: {purged.stdout.strip()}; "
        "after the return: the call stored with the same hash, its words erased"
    )


def _segments_text(spool: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(spool.glob("spool-*.jsonl")))
