"""What a caller hears before they may speak, how long answers run, and how every
department is reached by keys alone (issue 14).

Usage::

    python -m bench.phone_path [--kb PATH] [--rate 165]

Renders every fixed prompt of the knowledge base (default: the shipped sample) with the
real espeak-ng voices at the given rate and measures the audio: greeting + language offer
per language the call can start in, the longest short answer and the longest details
per language, and each keypad menu. Then, for every department, the keys that reach it
from the greeting on and how long a caller who listens to each menu level in full waits
before pressing the last key. Prints a table and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from voicebot.cli.prompts import spoken_texts
from voicebot.config import Settings
from voicebot.dialog.spoken import GREETING_LIMIT_S, greeting_seconds
from voicebot.knowledge.keypad import build_keypad
from voicebot.knowledge.loader import load_kb, sample_kb_path


def measure(kb_path: Path, rate: int) -> dict[str, Any]:
    """Every figure of the phone path for one KB."""
    kb = load_kb(kb_path)
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as tmp:
        settings = Settings(data_dir=Path(tmp), kb_path=kb_path, tts_rate=rate)
        texts = asyncio.run(spoken_texts(settings, kb))
    seconds = {(t.language, t.key): round(t.seconds, 2) for t in texts}
    result: dict[str, Any] = {
        "kb": str(kb_path),
        "rate_wpm": rate,
        "greeting_plus_offer_s": greeting_seconds(texts),
        "greeting_limit_s": GREETING_LIMIT_S,
        "longest_answer": {},
        "longest_details": {},
        "menus_s": {},
        "departments": [],
    }
    for language in kb.city.languages:
        for family, name in (("faq", "longest_answer"), ("faq_details", "longest_details")):
            own = [t for t in texts if t.language == language and t.key.split(":")[0] == family]
            if own:
                top = max(own, key=lambda t: t.seconds)
                result[name][language] = {"id": top.key, "seconds": round(top.seconds, 2)}
        result["menus_s"][language] = {
            key: s
            for (lang, key), s in seconds.items()
            if lang == language and key.startswith("menu")
        }
    keypad = build_keypad(kb)
    lang = kb.city.default_language
    for dept in kb.departments:
        path = keypad.path_to(dept.id)
        first = keypad.option(path[0])
        menus = ["menu"] if len(path) == 1 or first is None else ["menu", f"menu:{first.group}"]
        result["departments"].append(
            {
                "id": dept.id,
                "keys": path,
                "levels": len(path),
                "menu_listened_s": round(sum(seconds[(lang, m)] for m in menus), 2),
            }
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=Path, default=sample_kb_path())
    parser.add_argument("--rate", type=int, default=165, help="speaking rate, words/min")
    args = parser.parse_args()
    result = measure(args.kb, args.rate)
    print(f"greeting + language offer (limit {GREETING_LIMIT_S:.0f} s):")
    for language, s in result["greeting_plus_offer_s"].items():
        print(f"  {language}: {s:.2f} s")
    print("longest short answer / longest details:")
    for language, top in result["longest_answer"].items():
        details = result["longest_details"].get(language, {})
        print(
            f"  {language}: {top['id']} {top['seconds']:.2f} s / "
            f"{details.get('id', '-')} {details.get('seconds', 0):.2f} s"
        )
    print("keypad: every department, its keys, and the menu heard before the last key")
    for dept in result["departments"]:
        print(f"  {dept['id']:<16} {dept['keys']:<4} {dept['menu_listened_s']:6.2f} s")
    reachable = sum(1 for d in result["departments"] if d["keys"])
    print(f"  reachable by keys: {reachable}/{len(result['departments'])}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
