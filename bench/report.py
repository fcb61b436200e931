"""Markdown tables of a ``bench.run_all`` result file (the figures of docs/benchmarks.md).

python -m bench.report bench/results/<run>.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _ms(summary: dict[str, Any]) -> str:
    if not summary.get("n"):
        return "–"
    return f"{summary['p50']:.0f} / {summary['p95']:.0f}"


def calls_tables(result: dict[str, Any]) -> list[str]:
    """Turn latency and split, capacity, pacing, CPU, memory."""
    out = ["### Turn latency (ms, p50 / p95) and its split", ""]
    rows = []
    for mode, report in result["modes"].items():
        for level in report["levels"] + report["capacity_search"]:
            lat = level["latency_ms"]
            rows.append(
                [
                    mode,
                    level["concurrent_calls"],
                    lat["wire_ms"]["n"],
                    _ms(lat["wire_ms"]),
                    _ms(lat["endpoint_ms"]),
                    _ms(lat["asr_ms"]),
                    _ms(lat["routing_ms"]),
                    _ms(lat["dialog_ms"]),
                    _ms(lat["tts_ms"]),
                    _ms(lat["after_final_ms"]),
                    _ms(lat["vad_lag_playout_transport_ms"]),
                    level["load_average"][0],
                ]
            )
    out += _table(
        [
            "mode",
            "calls",
            "turns",
            "**wire**",
            "endpointing",
            "ASR final",
            "routing",
            "dialog",
            "TTS/cache",
            "after final",
            "VAD lag + pacing",
            "load",
        ],
        rows,
    )
    out += ["### Outbound pacing, drops, CPU, memory per level", ""]
    rows = []
    for mode, report in result["modes"].items():
        for level in report["levels"] + report["capacity_search"]:
            pacing, cpu = level["pacing"], level["cpu"]
            rows.append(
                [
                    mode,
                    level["concurrent_calls"],
                    pacing["gaps"],
                    f"{100 * (pacing['off_fraction'] or 0):.2f} %",
                    pacing["gap_ms"].get("p95"),
                    pacing["gap_ms"].get("max"),
                    level["server"]["playout_reanchors"],
                    level["server"]["inbound_drop_warnings"],
                    cpu["per_call_minute_s"].get("total_net_of_idle"),
                    cpu["per_call_minute_s"]["event_loop_thread"],
                    cpu["per_call_minute_s"]["other_threads"],
                    cpu["serve_cores_busy"],
                    level["bench_process_cores_busy"],
                    level["bench_loop_lag_ms"].get("max"),
                    level["rss_mib"]["serve"],
                ]
            )
    out += _table(
        [
            "mode",
            "calls",
            "frame gaps",
            "off > 5 ms",
            "gap p95 ms",
            "gap max ms",
            "re-anchors",
            "inbound drops",
            "CPU s/call-min (net of idle)",
            "event-loop thread",
            "other threads",
            "serve cores busy",
            "bench cores busy",
            "bench loop lag max ms",
            "serve RSS MiB",
        ],
        rows,
    )
    rows = []
    for mode, report in result["modes"].items():
        rows.append(
            [
                mode,
                report["serve_startup_s"],
                report["rss_idle_mib"]["serve"],
                report["rss_idle_mib"]["tree"],
                report.get("max_calls_meeting_p95_700ms"),
                report.get("max_calls_also_frames_99pct_within_5ms"),
                report.get("max_calls_also_every_frame_within_5ms"),
                report.get("levels_tried"),
            ]
        )
    out += ["### Capacity and start-up", ""]
    out += _table(
        [
            "mode",
            "start-up s",
            "idle RSS MiB (serve)",
            "idle RSS MiB (with TTS worker)",
            "max calls: p95 ≤ 700 ms, no drop",
            "+ 99 % frames within 5 ms",
            "+ every frame within 5 ms",
            "levels tried",
        ],
        rows,
    )
    split = result.get("cpu_split_per_call_minute") or {}
    if split:
        out += ["### CPU per call-minute: ASR vs everything else", ""]
        out += _table(
            ["calls", "everything else s", "ASR (Vosk) s", "else / ASR", "Vosk overloaded"],
            [
                [
                    calls,
                    row["everything_else_s"],
                    row["asr_s"],
                    row["everything_else_over_asr"],
                    row["vosk_level_overloaded"],
                ]
                for calls, row in split.items()
            ],
        )
    return out


def other_tables(steps: dict[str, Any]) -> list[str]:
    """VAD, routing, TTS, ASR, call log writer, statistics API."""
    out: list[str] = []
    vad = steps.get("vad_cost", {}).get("result")
    if vad:
        out += ["### VAD CPU per call-minute (s)", ""]
        rows = []
        for runtime in ("openmp_default_threads", "openmp_one_thread"):
            for line in ("quiet_line_-64dBFS", "noisy_line_-50dBFS"):
                row = vad[runtime][line]
                rows.append(
                    [
                        runtime,
                        line,
                        row["every_chunk"]["cpu_s_per_call_minute"],
                        row["skip_quiet"]["cpu_s_per_call_minute"],
                        row["every_chunk"]["wall_ms_per_frame"],
                        row["skip_quiet"]["wall_ms_per_frame"],
                        f"{100 * row['chunks_skipped_fraction']:.0f} %",
                        row["decisions_differing"],
                    ]
                )
        out += _table(
            [
                "OpenMP",
                "line",
                "every chunk",
                "skip quiet",
                "ms/frame every",
                "ms/frame skip",
                "skipped",
                "decisions differing",
            ],
            rows,
        )
    routing = steps.get("routing", {}).get("result")
    if routing:
        out += ["### Routing per backend and variant", ""]
        rows = []
        for backend, variants in routing.items():
            for name, row in variants.items():
                if name == "fresh_process":
                    continue
                sample, unseen = row["sample"], row["unseen_city"]
                rows.append(
                    [
                        backend,
                        name,
                        sample["accuracy"],
                        sample["oos_recall"],
                        unseen["accuracy"],
                        f"{sample['p50_ms']:.1f} / {sample['p95_ms']:.1f}",
                        row.get("queries_per_s", ""),
                    ]
                )
        out += _table(
            [
                "backend",
                "variant",
                "accuracy (sample KB)",
                "out-of-scope recall",
                "accuracy (unseen city)",
                "ms p50 / p95",
                "queries/s",
            ],
            rows,
        )
    tts = steps.get("tts_latency", {}).get("result")
    if tts:
        out += ["### TTS: time to the first 20 ms frame of a reply (ms)", ""]
        out += _table(
            ["path", "p50", "p95", "max", "n"],
            [
                [name, row["p50_ms"], row["p95_ms"], row["max_ms"], row["n"]]
                for name, row in tts["first_frame"].items()
            ],
        )
    asr = steps.get("asr_rtf", {}).get("result")
    if asr:
        out += [f"### Vosk real-time factor ({asr['model']}, {asr['mode']}s)", ""]
        out += _table(
            ["streams", "wall s", "RTF per stream"],
            [[r["streams"], r["wall_s"], r["rtf_per_stream"]] for r in asr["concurrent"]],
        )
    writer = steps.get("calllog_writer", {}).get("result")
    if writer:
        out += [f"### Call log writes ({writer['calls']} calls, {writer['turns']} turns)", ""]
        rows = []
        for backend in ("postgresql", "sqlite"):
            for name in ("unbatched", "batched"):
                row = writer[backend][name]
                rows.append(
                    [
                        backend,
                        f"{name} (batch_size={row['batch_size']})",
                        row["calls_per_s"],
                        row["turns_per_s"],
                        f"{row['submit_us']['p50']} / {row['submit_us']['p95']}",
                    ]
                )
        out += _table(["database", "writer", "calls/s", "turns/s", "submit() µs p50 / p95"], rows)
    api = steps.get("stats_api", {}).get("result")
    if api and "skipped" not in api:
        out += [
            f"### Statistics API ({api['data_set']['turns']} turns, "
            f"{api['data_set']['calls']} calls, PostgreSQL)",
            "",
        ]
        rows = []
        for label in ("single_client", "concurrent_clients"):
            run = api[label]
            rows.append(
                [
                    f"{run['clients']} client(s), all endpoints",
                    _ms(run["all_ms"]),
                    run["requests_per_s"],
                    run["errors"],
                ]
            )
            for name, row in run["per_endpoint_ms"].items():
                rows.append([f"{run['clients']} client(s): {name}", _ms(row), "", ""])
        out += _table(["requests", "ms p50 / p95", "req/s", "errors"], rows)
    return out


def render(results: dict[str, Any]) -> str:
    """Every table of one run, with its commands and load averages."""
    lines = [
        f"Run {results['started_utc']} ({'quick' if results['quick'] else 'full'}), "
        f"{results.get('total_seconds')} s, machine {results['machine']}",
        "",
    ]
    lines += _table(
        ["step", "command", "seconds", "load before", "load after", "status"],
        [
            [
                name,
                f"`{step['command']}`",
                step["seconds"],
                step["load_average_before"],
                step["load_average_after"],
                "ok" if "result" in step else step.get("error", "")[:120],
            ]
            for name, step in results["steps"].items()
        ],
    )
    steps = results["steps"]
    if "result" in steps.get("calls", {}):
        lines += calls_tables(steps["calls"]["result"])
    lines += other_tables(steps)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the tables of a result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    print(render(json.loads(args.results.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
