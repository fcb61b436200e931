"""Test helpers: knowledge bases, fixed moments, hand-made decisions and a call driver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from voicebot.dialog.actions import Action, EndCall, Listen, Play, RecordTurn, Transfer
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import (
    BargeIn,
    CallStarted,
    DtmfDigit,
    Event,
    Hangup,
    PlaybackFinished,
    SilenceTimeout,
    Tick,
    TransferResult,
    Utterance,
)
from voicebot.dialog.machine import Dialog
from voicebot.knowledge.loader import load_kb, parse_kb
from voicebot.knowledge.model import KnowledgeBase
from voicebot.records import CallRecord, TransferStatus, TurnRecord
from voicebot.routing.decision import Candidate, RouteDecision

MINIMAL_KB = Path(__file__).parent.parent / "data" / "kb" / "minimal.yaml"
BRUSSELS = ZoneInfo("Europe/Brussels")

# Moments in the city's time zone. 2026-03-02 is a Monday, 2026-07-21 (Belgian national
# day, a holiday in both KBs) a Tuesday, 2026-12-24 (dated exceptions) a Thursday.
MONDAY_MORNING = datetime(2026, 3, 2, 10, 0, tzinfo=BRUSSELS)
MONDAY_LUNCH = datetime(2026, 3, 2, 12, 30, tzinfo=BRUSSELS)  # population closed, desk open
MONDAY_EVENING = datetime(2026, 3, 2, 19, 0, tzinfo=BRUSSELS)  # everything closed
HOLIDAY_MORNING = datetime(2026, 7, 21, 10, 0, tzinfo=BRUSSELS)
CHRISTMAS_EVE_MORNING = datetime(2026, 12, 24, 10, 0, tzinfo=BRUSSELS)  # reduced hours, open
CHRISTMAS_EVE_LATE = datetime(2026, 12, 24, 11, 30, tzinfo=BRUSSELS)  # population closed
NEW_YEARS_EVE_MORNING = datetime(2026, 12, 31, 10, 0, tzinfo=BRUSSELS)  # population shut all day

CALLER = "+3227730500"

CITY_YAML = """
city:
  name: {fr: Woluwe-Test, nl: Woluwe-Test, en: Woluwe-Test, de: Woluwe-Test}
  default_language: fr
  languages: [fr, nl, en, de]
  timezone: Europe/Brussels
  holidays: ["2026-07-21"]
operator:
  extension: "1000"
  name: {fr: l'accueil, nl: het onthaal, en: the reception desk, de: der Empfang}
  hours:
    monday: ["08:00-17:00"]
    tuesday: ["08:00-17:00"]
    wednesday: ["08:00-17:00"]
    thursday: ["08:00-17:00"]
    friday: ["08:00-17:00"]
    exceptions:
      - {date: "2026-12-24", hours: ["08:00-12:00"]}
  examples:
    fr: [je voudrais parler à quelqu'un]
    nl: [ik wil iemand spreken]
    en: [can i talk to a person]
    de: [ich möchte mit jemandem sprechen]
departments:
  - id: population
    extension: "2001"
    dtmf: "1"
    name: {fr: le service Population, nl: de dienst Bevolking, en: the Population office,
           de: das Bürgeramt}
    description: {fr: Cartes d'identité., nl: Identiteitskaarten., en: Identity cards.,
                  de: Ausweise.}
    hours:
      monday: ["08:30-12:00", "13:30-16:00"]
      tuesday: ["08:30-12:00", "13:30-16:00"]
      wednesday: ["08:30-12:00", "13:30-16:00"]
      thursday: ["08:30-12:00", "13:30-16:00"]
      friday: ["08:30-12:00"]
      saturday: ["09:00-12:00"]
      exceptions:
        - {date: "2026-12-24", hours: ["08:30-11:00"]}
        - {date: "2026-12-31", hours: []}
    examples:
      fr: [je dois renouveler ma carte d'identité]
      nl: [ik moet mijn identiteitskaart vernieuwen]
      en: [i need to renew my identity card]
      de: [ich muss meinen Ausweis erneuern]
  - id: urbanism
    extension: "2002"
    dtmf: "2"
    name: {fr: le service Urbanisme, nl: de dienst Stedenbouw, en: the Planning office,
           de: das Bauamt}
    description: {fr: Permis., nl: Vergunningen., en: Permits., de: Genehmigungen.}
    hours:
      tuesday: ["09:00-12:00"]
      thursday: ["09:00-12:00"]
    examples:
      fr: [permis de bâtir]
      nl: [bouwvergunning]
      en: [building permit]
      de: [Baugenehmigung]
  - id: waste
    extension: "2003"
    name: {fr: le service Propreté, nl: de dienst Netheid, en: the Cleanliness office,
           de: die Stadtreinigung}
    description: {fr: Déchets., nl: Afval., en: Waste., de: Abfall.}
    hours: always
    examples:
      fr: [mes poubelles n'ont pas été ramassées]
      nl: [mijn vuilnis is niet opgehaald]
      en: [my bins were not collected]
      de: [mein Müll wurde nicht abgeholt]
faq:
  - id: id_card
    department: population
    questions:
      fr: ["Comment renouveler ma carte d'identité ?"]
      nl: ["Hoe vernieuw ik mijn identiteitskaart?"]
      en: ["How do I renew my identity card?"]
      de: ["Wie erneuere ich meinen Ausweis?"]
    answer:
      fr: Présentez-vous au service Population avec votre ancienne carte et une photo.
      nl: Kom naar de dienst Bevolking met uw oude kaart en een foto.
      en: Come to the Population office with your old card and a photo.
      de: Kommen Sie mit Ihrem alten Ausweis und einem Foto ins Bürgeramt.
  - id: passport
    department: population
    questions:
      fr: ["Comment obtenir un passeport ?"]
      nl: ["Hoe krijg ik een paspoort?"]
      en: ["How do I get a passport?"]
      de: ["Wie bekomme ich einen Reisepass?"]
    answer:
      fr: Le passeport se demande au service Population, comptez deux semaines.
      nl: Een paspoort vraagt u aan bij de dienst Bevolking, reken op twee weken.
      en: Passports are requested at the Population office and take two weeks.
      de: Den Reisepass beantragen Sie im Bürgeramt, rechnen Sie mit zwei Wochen.
  - id: bulky_waste
    department: waste
    questions:
      fr: ["Quand passe la collecte des encombrants ?"]
      nl: ["Wanneer wordt grofvuil opgehaald?"]
      en: ["When is bulky waste collected?"]
      de: ["Wann wird Sperrmüll abgeholt?"]
    answer:
      fr: Les encombrants sont collectés le premier lundi du mois.
      nl: Grofvuil wordt de eerste maandag van de maand opgehaald.
      en: Bulky waste is collected on the first Monday of the month.
      de: Sperrmüll wird am ersten Montag des Monats abgeholt.
    details:
      fr: Déposez-les devant chez vous la veille au soir, trois mètres cubes au plus.
      nl: Zet het de avond ervoor buiten, hoogstens drie kubieke meter.
      en: Put it out the evening before, three cubic metres at most.
      de: Stellen Sie ihn am Vorabend hinaus, höchstens drei Kubikmeter.
  - id: parking
    questions:
      fr: ["Où se garer près de la maison communale ?"]
      nl: ["Waar kan ik parkeren?"]
      en: ["Where can I park?"]
      de: ["Wo kann ich parken?"]
    answer:
      fr: Un parking gratuit se trouve derrière la maison communale.
      nl: Er is een gratis parking achter het gemeentehuis.
      en: There is a free car park behind the town hall.
      de: Hinter dem Rathaus gibt es einen kostenlosen Parkplatz.
"""


def minimal_kb() -> KnowledgeBase:
    """tests/data/kb/minimal.yaml: fr + en, population (DTMF 1) and waste (always open)."""
    return load_kb(MINIMAL_KB)


def city_kb() -> KnowledgeBase:
    """A four-language KB with three departments, four FAQs and dated exceptions."""
    return parse_kb(CITY_YAML, "city-test.yaml")


def decision(
    label: str,
    *,
    score: float = 0.82,
    margin: float = 0.2,
    ambiguous: bool = False,
    others: Sequence[str] = (),
    language: str = "fr",
) -> RouteDecision:
    """A router decision made by hand: ``label`` first, then ``others`` as runners-up."""
    candidates = [Candidate(label, score)]
    candidates += [Candidate(o, round(score - margin - 0.01 * i, 4)) for i, o in enumerate(others)]
    return RouteDecision(
        label=label,
        score=score,
        margin=margin,
        ambiguous=ambiguous,
        candidates=tuple(candidates),
        language=language,
        threshold=0.5,
    )


def rejected(score: float = 0.3) -> RouteDecision:
    """The router found nothing."""
    return RouteDecision("none", score, 0.05, False, (Candidate("parking", score),), "fr", 0.5)


def plays(actions: Sequence[Action]) -> list[Play]:
    """The ``Play`` actions."""
    return [a for a in actions if isinstance(a, Play)]


def texts(actions: Sequence[Action]) -> list[str]:
    """The texts spoken by ``actions``."""
    return [p.text for p in plays(actions)]


def keys(actions: Sequence[Action]) -> list[str]:
    """The prompt keys of the ``Play`` actions."""
    return [p.prompt_key for p in plays(actions)]


def kinds(actions: Sequence[Action]) -> list[str]:
    """Action class names, e.g. ``["Play", "Listen", "RecordTurn"]``."""
    return [type(a).__name__ for a in actions]


def turn_of(actions: Sequence[Action]) -> TurnRecord:
    """The single turn recorded by ``actions``."""
    turns = [a.turn for a in actions if isinstance(a, RecordTurn)]
    assert len(turns) == 1, kinds(actions)
    return turns[0]


def record_of(actions: Sequence[Action]) -> CallRecord:
    """The call record of the ``EndCall`` in ``actions`` (which must be last)."""
    assert isinstance(actions[-1], EndCall), kinds(actions)
    return actions[-1].record


def transfer_of(actions: Sequence[Action]) -> Transfer:
    """The single ``Transfer`` in ``actions``."""
    found = [a for a in actions if isinstance(a, Transfer)]
    assert len(found) == 1, kinds(actions)
    return found[0]


def listen_of(actions: Sequence[Action]) -> Listen:
    """The last ``Listen`` in ``actions``."""
    found = [a for a in actions if isinstance(a, Listen)]
    assert found, kinds(actions)
    return found[-1]


class Call:
    """Drives one :class:`Dialog` like a call session would, a few seconds per step."""

    def __init__(
        self,
        kb: KnowledgeBase,
        at: datetime,
        *,
        config: DialogConfig | None = None,
        caller: str | None = CALLER,
        language: str | None = None,
        clock: object = None,
    ) -> None:
        self.dialog = Dialog(kb, config, clock)  # type: ignore[arg-type]
        self.at = at
        self.history: list[Action] = []
        self.started = self.send(
            CallStarted(at, "call-1", caller, language, "PJSIP/trunk-00000001")
        )

    def send(self, event: Event) -> list[Action]:
        """Feed one event; remember the actions."""
        actions = self.dialog.handle(event)
        self.history.extend(actions)
        return actions

    def later(self, seconds: float = 4.0) -> datetime:
        """Advance the call's clock."""
        self.at += timedelta(seconds=seconds)
        return self.at

    def say(
        self,
        text: str,
        routed: RouteDecision | None = None,
        *,
        confidence: float | None = 0.92,
        language: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Action]:
        """The caller says ``text``; the session routed it to ``routed``."""
        return self.send(
            Utterance(self.later(), text, confidence, language, routed, dict(timings or {}))
        )

    def press(self, digit: str) -> list[Action]:
        """The caller presses a key."""
        return self.send(DtmfDigit(self.later(), digit))

    def silence(self) -> list[Action]:
        """The session's silence timeout fired."""
        return self.send(SilenceTimeout(self.later(8.0)))

    def played(self) -> list[Action]:
        """Everything queued so far has been played."""
        last = max((p.play_id for p in plays(self.history)), default=0)
        return self.send(PlaybackFinished(self.later(3.0), last))

    def barge_in(self) -> list[Action]:
        """The caller starts talking over the assistant."""
        return self.send(BargeIn(self.later(0.5)))

    def hang_up(self) -> list[Action]:
        """The caller hangs up."""
        return self.send(Hangup(self.later(1.0)))

    def dial_result(self, status: TransferStatus) -> list[Action]:
        """Asterisk reports the DIALSTATUS of the transfer."""
        return self.send(TransferResult(self.later(15.0), status))

    def tick(self, at: datetime) -> list[Action]:
        """Time passes to ``at``."""
        self.at = at
        return self.send(Tick(at))
