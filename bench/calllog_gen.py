"""Generate a realistic synthetic call log in PostgreSQL (default: 150,000 calls, 1,000,000 turns).

Usage::

    python -m bench.calllog_gen [--url postgresql+psycopg://postgres@127.0.0.1:5432/voicebot_bench]
                                [--schema calllog_bench] [--calls 150000] [--turns 1000000]

The database is created if missing; the schema is dropped and recreated, migrated with the
package's Alembic migrations, loaded with COPY (rows built by the same code as
``CallLogRepository.save_calls``), then the rollups are rebuilt and the tables analysed.
Calls follow city-hall hours (weekdays, Europe/Brussels, peaks mid-morning and
mid-afternoon) over ``--days`` days ending now.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Engine, make_url, text
from sqlalchemy.engine import URL

from voicebot.calllog.callbacks import callback_key
from voicebot.calllog.db import create_calllog_engine, migrate
from voicebot.calllog.pseudonymize import Pseudonymizer
from voicebot.calllog.rollups import rebuild_rollups
from voicebot.calllog.rows import call_row, callback_row, transfer_row, turn_row
from voicebot.records import (
    CallbackRequest,
    CallOutcome,
    CallRecord,
    TransferRecord,
    TransferStatus,
    TurnRecord,
)

_LOGGER = logging.getLogger("bench.calllog_gen")

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/voicebot_bench"
DEFAULT_SCHEMA = "calllog_bench"
BENCH_KEY = b"voicebot-bench-pseudonymisation-key"
CITY_TZ = ZoneInfo("Europe/Brussels")
CHUNK_CALLS = 5000

LANGUAGES = {"fr": 0.6, "nl": 0.25, "en": 0.1, "de": 0.05}
DEPARTMENTS = {
    "etat-civil": "l'état civil",
    "population": "la population",
    "urbanisme": "l'urbanisme",
    "travaux": "les travaux",
    "finances": "les finances",
    "enseignement": "les écoles",
    "culture": "la culture",
    "sports": "les sports",
    "cpas": "le CPAS",
    "police": "la police",
    "environnement": "les déchets verts",
    "mobilite": "le stationnement",
}
FAQS = {
    "faq:horaires": "les horaires d'ouverture",
    "faq:passeport": "un passeport",
    "faq:carte-identite": "la carte d'identité",
    "faq:permis-conduire": "le permis de conduire",
    "faq:collecte-dechets": "la collecte des poubelles",
    "faq:parc-conteneurs": "le parc à conteneurs",
    "faq:mariage": "un mariage",
    "faq:naissance": "déclarer une naissance",
    "faq:deces": "déclarer un décès",
    "faq:domicile": "un changement d'adresse",
    "faq:extrait-casier": "un extrait de casier judiciaire",
    "faq:permis-urbanisme": "un permis d'urbanisme",
    "faq:stationnement-riverain": "une carte riverain",
    "faq:inscription-ecole": "l'inscription à l'école",
    "faq:stage-sportif": "les stages sportifs",
    "faq:bibliotheque": "la bibliothèque",
    "faq:salle-fetes": "louer une salle",
    "faq:taxe-immondices": "la taxe poubelles",
    "faq:chien": "enregistrer un chien",
    "faq:legalisation": "légaliser un document",
    "faq:cohabitation": "une déclaration de cohabitation",
    "faq:nationalite": "la nationalité",
    "faq:election": "les élections",
    "faq:encombrants": "les encombrants",
    "faq:travaux-voirie": "les travaux dans ma rue",
    "faq:marche": "le marché hebdomadaire",
    "faq:piscine": "la piscine communale",
    "faq:plainte-bruit": "une plainte pour bruit",
    "faq:prime-energie": "la prime énergie",
    "faq:objets-trouves": "les objets trouvés",
}
PREFIXES = {
    "fr": [
        "bonjour je voudrais des informations sur",
        "c'est pour",
        "je téléphone pour",
        "je voudrais savoir pour",
        "oui bonjour c'est à propos de",
    ],
    "nl": [
        "goedendag ik wil informatie over",
        "het is voor",
        "ik bel voor",
        "ik heb een vraag over",
    ],
    "en": ["hello I would like information about", "I'm calling about", "it's about"],
    "de": ["guten Tag ich möchte Informationen über", "ich rufe an wegen", "es geht um"],
}
NOT_UNDERSTOOD = [
    "euh oui allô",
    "je sais pas trop c'est compliqué",
    "c'est pour ma voisine qui a un souci",
    "le truc de la semaine dernière",
    "vous pouvez répéter",
    "c'est la madame qui m'a dit d'appeler",
    "j'ai reçu une lettre mais je comprends pas",
    "mon fils a un problème avec son vélo",
    "il y a un arbre tombé devant chez moi",
    "le lampadaire de ma rue ne fonctionne plus",
    "je voudrais porter plainte contre mon voisin",
    "il y a des rats dans le parc",
    "quand est-ce que passe le bus scolaire",
    "je cherche un plombier",
    "est-ce que la ducasse a lieu",
    "on m'a volé mon portefeuille au marché",
    "les poubelles n'ont pas été ramassées",
    "c'est pour un chat perdu",
    "je voudrais parler au bourgmestre",
    "le trou dans la route",
]
FILLERS = ["", "s'il vous plaît", "euh", "voilà", "merci", "en fait"]
OUTCOMES = {
    CallOutcome.ANSWERED: 0.45,
    CallOutcome.TRANSFERRED: 0.30,
    CallOutcome.OPERATOR: 0.08,
    CallOutcome.CALLBACK: 0.05,
    CallOutcome.ABANDONED: 0.08,
    CallOutcome.FAILED: 0.04,
}
EXTENSIONS = {name: str(2000 + i) for i, name in enumerate(DEPARTMENTS)} | {"operator": "9"}
HOUR_WEIGHTS = {8: 4, 9: 9, 10: 10, 11: 8, 12: 4, 13: 5, 14: 8, 15: 7, 16: 5, 17: 2, 18: 1}


def _pick(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _call_start(rng: random.Random, first_day: datetime, days: int) -> datetime:
    while True:
        day = first_day + timedelta(days=rng.randrange(days))
        weekday = day.weekday()
        if weekday == 6 or (weekday == 5 and rng.random() < 0.8):
            continue
        hour = _pick(rng, HOUR_WEIGHTS) if rng.random() < 0.97 else rng.randrange(24)
        local = datetime(day.year, day.month, day.day, hour, tzinfo=CITY_TZ)
        return (local + timedelta(seconds=rng.randrange(3600))).astimezone(UTC)


def _utterance(rng: random.Random, language: str, topic: str) -> str:
    words = [rng.choice(PREFIXES[language]), topic, rng.choice(FILLERS)]
    return " ".join(w for w in words if w).lower()


def _turn_count(rng: random.Random, mean: float) -> int:
    # 1 + a geometric-like tail: most calls are short, a few long ones.
    return 1 + min(40, round(rng.expovariate(1.0 / max(mean - 1.0, 0.1))))


def _call(rng: random.Random, number: int, start: datetime, mean_turns: float) -> CallRecord:
    call_id = f"bench-{number:08d}"
    language = _pick(rng, LANGUAGES)
    outcome: CallOutcome = _pick(rng, OUTCOMES)
    topic_intent = rng.choice(list(DEPARTMENTS) + list(FAQS))
    if outcome in (CallOutcome.TRANSFERRED, CallOutcome.CALLBACK):
        topic_intent = rng.choice(list(DEPARTMENTS))
    topic = DEPARTMENTS.get(topic_intent) or FAQS[topic_intent]
    turns: list[TurnRecord] = []
    moment = start + timedelta(seconds=rng.uniform(3, 8))
    for index in range(_turn_count(rng, mean_turns)):
        roll = rng.random()
        dtmf = None
        if index == 0 or roll < 0.35:
            intent, transcript = topic_intent, _utterance(rng, language, topic)
        elif roll < 0.5:
            intent, transcript = "none", rng.choice(NOT_UNDERSTOOD) + rng.choice(["", " euh"])
        elif roll < 0.65:
            intent, transcript = rng.choice(["yes", "no"]), rng.choice(["oui", "non", "ja", "nee"])
        elif roll < 0.72:
            dtmf = str(rng.randrange(10))
            intent, transcript = f"dtmf:{dtmf}", ""
        elif roll < 0.8:
            intent, transcript = "goodbye", rng.choice(["merci au revoir", "dag", "bye"])
        else:
            intent = rng.choice(list(FAQS))
            transcript = _utterance(rng, language, FAQS[intent])
        confidence = None if dtmf else round(rng.betavariate(8, 2), 3)
        # The dialog's own vocabulary (voicebot.dialog.actions): what it did in the turn.
        action = {"none": "rephrase", "yes": "prompt", "no": "goodbye", "goodbye": "goodbye"}.get(
            intent, "menu" if dtmf else "answer" if intent.startswith("faq:") else "transfer"
        )
        runner_up = None if dtmf else rng.choice(list(FAQS) + list(DEPARTMENTS))
        stages = {
            "endpointing": rng.uniform(250, 700),
            "asr": rng.uniform(40, 300),
            "routing": rng.uniform(3, 25),
            "dialog": rng.uniform(0.2, 3),
            "tts": rng.uniform(10, 250),
        }
        stages["total"] = sum(stages.values())
        turns.append(
            TurnRecord(
                call_id=call_id,
                index=index,
                started_at=moment,
                language=language,
                transcript=transcript,
                asr_confidence=confidence,
                intent=intent,
                score=None if dtmf else round(rng.uniform(0.2, 0.95), 3),
                margin=None if dtmf else round(rng.uniform(0.0, 0.4), 3),
                action=action,
                reply_text=f"réponse {intent}",
                dtmf=dtmf,
                timings_ms={k: round(v, 1) for k, v in stages.items()},
                runner_up=runner_up,
            )
        )
        moment += timedelta(seconds=rng.uniform(6, 25))
    transfers: tuple[TransferRecord, ...] = ()
    department = None
    if outcome in (CallOutcome.TRANSFERRED, CallOutcome.OPERATOR):
        department = topic_intent if outcome is CallOutcome.TRANSFERRED else "operator"
        status = _pick(
            rng,
            {
                TransferStatus.ANSWER: 0.85,
                TransferStatus.NOANSWER: 0.08,
                TransferStatus.BUSY: 0.05,
                TransferStatus.CHANUNAVAIL: 0.02,
            },
        )
        transfers = (
            TransferRecord(
                call_id=call_id,
                target=department,
                extension=EXTENSIONS.get(department, "9"),
                requested_at=moment,
                dial_status=status,
                fallback=None if status is TransferStatus.ANSWER else "operator",
            ),
        )
    callbacks: tuple[CallbackRequest, ...] = ()
    caller = f"+32{rng.randrange(470_000_000, 499_999_999)}" if rng.random() < 0.95 else None
    if outcome is CallOutcome.CALLBACK:
        callbacks = (
            CallbackRequest(call_id, moment, topic_intent, language, caller, "rappeler svp"),
        )
    return CallRecord(
        call_id=call_id,
        started_at=start,
        ended_at=moment + timedelta(seconds=rng.uniform(2, 20)),
        caller_number=caller,
        language=language,
        outcome=outcome,
        department=department,
        channel=f"PJSIP/trunk-{number:08x}",
        turns=tuple(turns),
        transfers=transfers,
        callbacks=callbacks,
    )


def generate(calls: int, turns: int, days: int, seed: int) -> Iterator[CallRecord]:
    """Yield ``calls`` synthetic calls holding about ``turns`` turns in total."""
    rng = random.Random(seed)
    first_day = (datetime.now(CITY_TZ) - timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    mean_turns = turns / calls
    for number in range(calls):
        yield _call(rng, number, _call_start(rng, first_day, days), mean_turns)


def _copy(cursor: psycopg.Cursor[Any], table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns)]
            )


def load(engine: Engine, records: Iterator[CallRecord]) -> tuple[int, int]:
    """COPY records into the call log tables; returns (calls, turns) loaded."""
    pseudonymizer = Pseudonymizer(BENCH_KEY, "32")
    call_pk = turn_pk = 0
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert isinstance(driver, psycopg.Connection)
        done = False
        while not done:
            chunk: dict[str, list[dict[str, Any]]] = {
                "calls": [],
                "turns": [],
                "transfers": [],
                "callbacks": [],
            }
            for _ in range(CHUNK_CALLS):
                record = next(records, None)
                if record is None:
                    done = True
                    break
                call_pk += 1
                chunk["calls"].append({"id": call_pk, **call_row(record, pseudonymizer)})
                for turn in record.turns:
                    turn_pk += 1
                    chunk["turns"].append({"id": turn_pk, **turn_row(turn, call_pk)})
                chunk["transfers"].extend(transfer_row(t, call_pk) for t in record.transfers)
                chunk["callbacks"].extend(
                    callback_row(c, call_pk, callback_key(record.call_id, index))
                    for index, c in enumerate(record.callbacks)
                )
            with driver.cursor() as cursor:
                for table, rows in chunk.items():
                    _copy(cursor, table, rows)
            driver.commit()
            if call_pk % 50_000 < CHUNK_CALLS:
                _LOGGER.info("loaded %d calls, %d turns", call_pk, turn_pk)
        with driver.cursor() as cursor:
            for table in ("calls", "turns"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        driver.commit()
    finally:
        raw.close()
    return call_pk, turn_pk


def prepare_database(url: URL, schema: str) -> URL:
    """Create the database if needed and a fresh schema; returns the URL bound to it."""
    admin = psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.database])
        if exists.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{url.database}"')
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return url.update_query_dict({"options": f"-csearch_path={schema}"})


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA)
    parser.add_argument("--calls", type=int, default=150_000)
    parser.add_argument("--turns", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=20240521)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    url = prepare_database(make_url(args.url), args.schema)
    migrate(url)
    engine = create_calllog_engine(url)
    began = time.perf_counter()
    calls, turns = load(engine, generate(args.calls, args.turns, args.days, args.seed))
    loaded = time.perf_counter()
    with engine.begin() as connection:
        rebuild_rollups(connection)
    rolled = time.perf_counter()
    with engine.connect() as connection:
        # VACUUM sets the visibility map, as autovacuum would on a live insert-only table,
        # so index-only scans behave as they do in production.
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(
        f"loaded {calls} calls and {turns} turns in {loaded - began:.1f} s, "
        f"rollups rebuilt in {rolled - loaded:.1f} s, "
        f"total with VACUUM ANALYZE {time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
