"""YAML abuse (issue 13 item 8), through ``voicebot kb validate``, the settings file and
``voicebot serve``'s watch of its KB file.

Before: a 470-byte billion-laughs KB took ``kb validate`` past 2.5 GB in 25 s; a
100,000-deep flow or 3,000-deep block nesting raised an uncaught ``RecursionError``
(a 3,000-line traceback). Now every YAML read goes through ``voicebot.safe_yaml``: one
``file:line: …`` line, exit code 2, memory no more than the command's own start-up.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import BotFactory
from tests.reliability.harness import (
    DEPARTMENT_EXTEN,
    RELIABILITY_KB,
    CallKind,
    CallResult,
    answered_by,
    dtmf_call,
)
from tests.support import hostile_yaml

BOMBS: dict[str, Callable[[], str]] = {
    "billion laughs": hostile_yaml.billion_laughs,
    "100k-deep flow": lambda: hostile_yaml.deep_flow(100_000),
    "3,000-deep block sequence": lambda: hostile_yaml.deep_block_sequence(3_000),
    "1,500-deep block mapping": lambda: hostile_yaml.deep_block_mapping(1_500),
    "1M values": lambda: hostile_yaml.many_values(1_000_000),
    "50 MB": lambda: hostile_yaml.oversized(50_000_000),
}
PROBLEMS = {
    "billion laughs": "alias *l0 refused",
    "100k-deep flow": "nested more than 32 levels deep",
    "3,000-deep block sequence": "nested more than 32 levels deep",
    "1,500-deep block mapping": "nested more than 32 levels deep",
    "1M values": "more than 50000 values",
    "50 MB": "larger than the limit of 2097152 bytes",
}
COMMAND_TIMEOUT_S = 120.0
"""Far beyond what a refusal takes: only a reader gone wild reaches it."""
RSS_LIMIT = 320 * 2**20
"""The command's own start-up (imports) is about 170 MB here."""


def run_measured(command: list[str], workdir: Path) -> tuple[int, str, int, float]:
    """Exit code, output, peak RSS (bytes) and seconds of a command, killed if it hangs.

    The peak comes from GNU time, a small process of its own: a child forked from this
    test process would count the test process's pages too.
    """
    rss_file = workdir / "peak-rss-kb"
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["/usr/bin/time", "-o", str(rss_file), "-f", "%M", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{command} still running after {COMMAND_TIMEOUT_S} s") from None
    seconds = time.monotonic() - started
    peak_kb = int(rss_file.read_text(encoding="ascii").split()[-1])
    return result.returncode, result.stdout.decode(errors="replace"), peak_kb * 1024, seconds


@pytest.mark.parametrize("name", list(BOMBS))
def test_kb_validate_refuses_a_yaml_bomb_in_one_line_with_bounded_memory(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(BOMBS[name](), encoding="utf-8")
    command = [sys.executable, "-m", "voicebot.cli", "kb", "validate", str(path)]
    code, output, rss, seconds = run_measured(command, tmp_path)
    assert code == 2, output[-2000:]
    lines = output.strip().splitlines()
    assert len(lines) == 1, output[-2000:]
    assert lines[0].startswith(f"voicebot: {path}:"), lines[0]
    assert PROBLEMS[name] in lines[0], lines[0]
    assert rss < RSS_LIMIT, f"peak RSS {rss / 2**20:.0f} MiB"
    print(
        f"\n{name} ({path.stat().st_size} bytes): exit {code} in {seconds:.1f} s, "
        f"peak RSS {rss / 2**20:.0f} MiB: {lines[0][len('voicebot: ') :]}"
    )


def test_a_settings_file_bomb_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "voicebot.yaml"
    path.write_text("api_port: 8080\n" + hostile_yaml.billion_laughs(), encoding="utf-8")
    command = [sys.executable, "-m", "voicebot.cli", "--config", str(path), "kb", "validate"]
    result = subprocess.run(
        [*command, str(RELIABILITY_KB)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == (
        f"voicebot: {path}:3: alias *l0 refused: write the value out in full (no &/* refs)"
    ), result.stderr


async def test_serve_keeps_its_kb_when_the_watched_file_becomes_a_bomb(
    tmp_path: Path, bots: BotFactory
) -> None:
    kb_path = tmp_path / "kb.yaml"
    shutil.copy(RELIABILITY_KB, kb_path)
    bot = await bots(settings={"kb_path": str(kb_path)})
    rss_before = bot.rss_bytes()
    marker = "knowledge base file changed but is invalid, kept the old"
    for number, name in enumerate(BOMBS, start=1):
        kb_path.write_text(BOMBS[name](), encoding="utf-8")
        # The API process polls its KB file every 5 s.
        async with asyncio.timeout(60):
            while bot.served.log().count(marker) < number:
                assert bot.served.process.poll() is None, bot.served.log()[-3000:]
                await asyncio.sleep(0.2)
        assert PROBLEMS[name] in bot.served.log().split(marker)[-1].splitlines()[0]
    log = bot.served.log()
    assert "Traceback" not in log and "RecursionError" not in log, log[-3000:]
    rss_after = bot.rss_bytes()
    async with httpx.AsyncClient(base_url=bot.served.api_url, timeout=10) as client:
        assert (await client.get("/health")).status_code == 200
    # The KB in force still routes: DTMF 1 reaches its department.
    result = CallResult(CallKind.DTMF, "0470000013")
    async with asyncio.timeout(60):
        await dtmf_call(bot, result)
    assert result.call is not None and answered_by(result.call) == DEPARTMENT_EXTEN
    assert rss_after - rss_before < 100 * 2**20, (rss_before, rss_after)
    print(
        f"\nserve watch: {len(BOMBS)} bombs refused, one line each; RSS "
        f"{rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB; DTMF call still transferred"
    )
