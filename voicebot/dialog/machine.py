"""The conversation as a pure state machine: ``Dialog.handle(event) -> [actions]``.

No I/O, no clock, no router: the call session routes each utterance and passes the
decision in, reports the time in every event, plays what ``Play`` says and echoes each
play's id in ``PlaybackFinished`` when its audio is done. ``Transfer`` and ``HangUp``
are only returned once the announcement or goodbye before them has finished playing,
so the session executes actions in order and never waits on audio itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from voicebot.dialog.actions import (
    Action,
    DialogIntent,
    EndCall,
    HangUp,
    Play,
    RecordCallback,
    ReturnToDialplan,
    Transfer,
    TransferPlanned,
    TransferSummary,
    TurnAction,
    dtmf_intent,
    language_intent,
)
from voicebot.dialog.config import DialogConfig
from voicebot.dialog.events import (
    AudioTakenByDialplan,
    BargeIn,
    CallStarted,
    DialogError,
    DtmfDigit,
    Event,
    Hangup,
    PlaybackFinished,
    SilenceTimeout,
    Tick,
    TransferImpossible,
    TransferResult,
    Utterance,
    check_event,
)
from voicebot.dialog.journal import CallEnding, CallJournal
from voicebot.dialog.keywords import tokens
from voicebot.dialog.output import Output, TurnDraft
from voicebot.dialog.prompts import Prompt, PromptBook
from voicebot.dialog.understanding import ReplyReader, Words
from voicebot.knowledge.keypad import BACK_KEY
from voicebot.knowledge.model import KnowledgeBase
from voicebot.records import CallbackRequest, TransferReason, TransferStatus, TurnRecord
from voicebot.routing.decision import FAQ_PREFIX, OPERATOR, RouteDecision, RouteKind, kind_of


class DialogState(StrEnum):
    """Where the conversation stands."""

    NOT_STARTED = "not_started"
    LISTENING = "listening"  # waiting for a request (the first one, or after "anything else?")
    CLARIFYING = "clarifying"  # asked "A or B?"
    OFFERING = "offering"  # asked a yes/no question about an offer (FAQ, operator, callback)
    MENU = "menu"  # the DTMF menu was announced
    ANNOUNCING = "announcing"  # transfer announcement playing; ``Transfer`` follows
    TRANSFERRING = "transferring"  # ``Transfer`` sent; waiting for its result or the hang-up
    CLOSING = "closing"  # goodbye playing; ``HangUp`` follows
    ENDED = "ended"


_WAITING = frozenset(
    {DialogState.LISTENING, DialogState.CLARIFYING, DialogState.OFFERING, DialogState.MENU}
)
_NOT_REQUESTS = frozenset({DialogIntent.YES, DialogIntent.NO, DialogIntent.GOODBYE})
_FALLBACK_REASONS = {
    TransferStatus.BUSY: TransferReason.BUSY,
    TransferStatus.NOANSWER: TransferReason.NO_ANSWER,
}
"""Why a failed transfer goes on to the operator (other statuses: unreachable)."""
MAX_UTTERANCES = 5
"""The caller's requests a transfer carries for the person picking up."""


class _Question(StrEnum):
    OPEN = "open"
    ANYTHING_ELSE = "anything_else"
    CLARIFY = "clarify"
    OFFER = "offer"
    MENU = "menu"


class _OfferKind(StrEnum):
    DETAILS = "details"
    FAQ = "faq"
    OPERATOR = "operator"
    CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class _Offer:
    kind: _OfferKind
    target: str
    """FAQ id (answer or details), ``operator``, or who calls back (department id or
    ``operator``)."""


class Dialog:
    """One call's conversation. Feed every event to :meth:`handle`; execute what it returns."""

    def __init__(
        self,
        kb: KnowledgeBase,
        config: DialogConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` (seconds, e.g. ``time.perf_counter``) adds ``timings_ms["dialog"]``."""
        self.kb = kb
        self.config = config or DialogConfig()
        self.config.check_languages(kb.city.languages)
        self.prompts = PromptBook(kb, self.config.operator_digit)
        self._reader = ReplyReader(kb, self.config, self.prompts)
        self._clock = clock
        self._out = Output()
        self._state = DialogState.NOT_STARTED
        self._language = kb.city.default_language
        self._journal: CallJournal | None = None
        self._ending: tuple[datetime, CallEnding] | None = None
        self._question = _Question.OPEN
        self._clarify: tuple[str, str] | None = None
        self._offers: list[_Offer] = []
        self._planned: str | None = None
        """Target to transfer to once the announcement has been played."""
        self._reason = TransferReason.ROUTED
        """Why the call goes to the target of the coming transfer."""
        self._plan_to_tell = False
        """A transfer was decided in this step: ``TransferPlanned`` goes out first."""
        self._returning = False
        """Leave the call to the dialplan once the apology has been played."""
        self._close_reason = CallEnding.GOODBYE
        self._failures = 0
        self._menu_failures = 0
        self._menu_group: str | None = None
        """The second level of the keypad menu the caller is in (None: the first)."""
        self._keypad_used = False
        """The caller pressed a key: yes/no questions then say which keys answer them."""
        self._helped = False
        """An answer was given or a transfer made: silence then ends the call."""
        self._silences = 0
        self._yes_no_retries = 0
        self._max_duration_reached = False
        self._transcripts: list[str] = []
        self._candidates: list[str] = []
        self._request_label: str = DialogIntent.NONE

    # --- public API ----------------------------------------------------------------------

    @property
    def state(self) -> DialogState:
        """The current state."""
        return self._state

    @property
    def language(self) -> str:
        """The language the assistant currently speaks."""
        return self._language

    @property
    def turns(self) -> tuple[TurnRecord, ...]:
        """The turns recorded so far."""
        return tuple(self._journal.turns) if self._journal else ()

    @property
    def ended(self) -> bool:
        """True once ``EndCall`` has been returned; later events are ignored."""
        return self._state is DialogState.ENDED

    def handle(self, event: Event) -> list[Action]:
        """Advance the conversation by one event; execute the returned actions in order."""
        check_event(event)
        if self._state is DialogState.ENDED:
            return []
        if self._state is DialogState.NOT_STARTED and not isinstance(event, CallStarted):
            raise DialogError(f"{type(event).__name__} received before CallStarted")
        started = self._clock() if self._clock else None
        self._out.begin_step()
        self._ending = None
        match event:
            case CallStarted():
                self._on_call_started(event)
            case Utterance():
                self._on_utterance(event)
            case DtmfDigit():
                self._on_dtmf(event)
            case SilenceTimeout():
                self._on_silence(event)
            case Hangup():
                self._on_hangup(event)
            case TransferResult():
                self._on_transfer_result(event)
            case TransferImpossible():
                self._on_transfer_impossible(event)
            case AudioTakenByDialplan():
                self._on_audio_taken(event)
            case PlaybackFinished():
                self._on_playback_finished(event)
            case BargeIn():
                self._on_barge_in()
            case Tick():
                self._on_tick(event)
        if self._out.turn is not None:
            dialog_ms = None
            if started is not None and self._clock is not None:
                dialog_ms = round((self._clock() - started) * 1000.0, 3)
            journal = self._log
            record = self._out.turn.record(
                journal.call_id, len(journal.turns), self._language, dialog_ms
            )
            journal.add_turn(record)
            self._out.record_turn(record)
        if self._plan_to_tell and self._planned is not None:
            # Built once the step's words are in the summary, sent before the announcement:
            # the operators hear of the transfer when it is decided, not after it is said.
            actions = self._out.actions
            first_play = next((i for i, a in enumerate(actions) if isinstance(a, Play)), 0)
            actions.insert(first_play, TransferPlanned(self._transfer(self._planned)))
        self._plan_to_tell = False
        if self._ending is not None:
            at, reason = self._ending
            self._out.actions.append(EndCall(self._log.record(at, self._language, reason)))
            self._state = DialogState.ENDED
        return self._out.actions

    # --- events --------------------------------------------------------------------------

    def _on_call_started(self, event: CallStarted) -> None:
        if self._journal is not None:
            raise DialogError("CallStarted received twice")
        city = self.kb.city
        offered = event.language in city.languages
        self._language = event.language if event.language and offered else city.default_language
        self._journal = CallJournal(event.call_id, event.at, event.caller_number, event.channel)
        self._say(self.prompts.greeting(self._language))
        offer = self.prompts.language_offer(self._language)
        if self.config.announce_languages and offer is not None:
            self._say(offer)
        self._wait(DialogState.LISTENING, _Question.OPEN)

    def _on_utterance(self, event: Utterance) -> None:
        if self._state not in _WAITING:
            return
        decision = event.decision
        turn = self._out.begin_turn(event.at, DialogIntent.NONE, transcript=event.text)
        turn.confidence = event.confidence
        turn.timings_ms = dict(event.timings_ms)
        if decision is not None:
            turn.score, turn.margin = decision.score, decision.margin
            runner_up = decision.runner_up
            turn.runner_up = runner_up.label if runner_up is not None else None
        self._candidates = [c.label for c in decision.candidates] if decision else []
        self._out.stop_playback()
        self._silences = 0
        self._read_utterance(event, decision)
        request = turn.intent not in _NOT_REQUESTS and not turn.intent.startswith("language:")
        if event.text.strip() and request:
            # The transfer summary quotes requests, not the "oui" / "non" around them.
            self._transcripts.append(event.text.strip())

    def _read_utterance(self, event: Utterance, decision: RouteDecision | None) -> None:
        if self._over_time(event.at):
            self._max_duration(event.at)
            return
        words = tokens(event.text)
        asked = self._reader.requested_language(words)
        if asked is not None:
            self._language_request(asked)
            return
        if event.language and event.language != self._language:
            if event.language not in self.kb.city.languages:
                self._language_request(event.language)
                return
            self._language = event.language
            self._say(self.prompts.language_switched(self._language))
        low = event.confidence is not None and event.confidence < self.config.min_asr_confidence
        understood = decision if words and not low else None
        if self._state is DialogState.OFFERING:
            self._on_offer_reply(event.at, words, understood, low)
        elif self._state is DialogState.CLARIFYING:
            self._on_clarify_reply(event.at, words, understood, low)
        else:
            self._on_request(event.at, words, understood, low)

    def _on_dtmf(self, event: DtmfDigit) -> None:
        if self._state not in _WAITING:
            return
        digit = event.digit
        self._out.begin_turn(event.at, dtmf_intent(digit)).dtmf = digit
        self._candidates = []
        self._out.stop_playback()
        self._silences = 0
        self._keypad_used = True
        if self._over_time(event.at):
            self._max_duration(event.at)
        elif self._state is DialogState.OFFERING and digit in ("1", "2"):
            self._offer_answer(event.at, yes=digit == "1")
        elif self._state is DialogState.CLARIFYING and digit in ("1", "2"):
            assert self._clarify is not None
            choice = self._clarify[int(digit) - 1]
            self._turn.intent = choice
            self._route(choice, event.at, keypad=True)
        else:
            self._keypad_choice(digit, event.at)

    def _keypad_choice(self, digit: str, at: datetime) -> None:
        """A key of the menu, pressed in the menu or at any moment before it."""
        keypad = self.prompts.keypad
        group = self._menu_group if self._state is DialogState.MENU else None
        option = keypad.option(digit, group)
        if option is not None and option.target is not None:
            self._to_target(option.target, at, TransferReason.KEYPAD)
        elif option is not None and option.group is not None:
            self._announce_menu(option.group)
        elif self._state is DialogState.MENU and digit != BACK_KEY:
            self._not_understood(at, low_confidence=False)  # a key this level does not have
        else:
            self._announce_menu()  # any other key before the menu; * back to the first level

    def _on_silence(self, event: SilenceTimeout) -> None:
        if self._state not in _WAITING:
            return
        turn = self._out.begin_turn(event.at, DialogIntent.SILENCE)
        if self._over_time(event.at):
            self._max_duration(event.at)
            return
        self._silences += 1
        unhelped = not self._helped and self._question in (_Question.OPEN, _Question.MENU)
        if unhelped and self._silences >= 2 and self.kb.is_open(OPERATOR, event.at):
            # Someone who cannot speak or use the keypad still reaches a person.
            self._say(self.prompts.no_speech(self._language))
            self._to_target(OPERATOR, event.at, TransferReason.SILENT)
        elif self._silences > self.config.max_silence_prompts:
            turn.action = TurnAction.GOODBYE
            self._say(self.prompts.silence_goodbye(self._language), interruptible=False)
            self._close(CallEnding.SILENCE)
        elif unhelped and self._question is _Question.OPEN:
            self._announce_menu()  # the keypad way, for a caller who does not speak
        else:
            turn.action = TurnAction.SILENCE_PROMPT
            self._say(self.prompts.silence(self._language))
            self._ask_again()

    def _on_hangup(self, event: Hangup) -> None:
        closing = self._state is DialogState.CLOSING
        ending = self._close_reason if closing else CallEnding.HANGUP
        if self._out.answer_sounding:
            # Not a contained answer for the statistics: see CallJournal.outcome.
            turn = self._out.begin_turn(event.at, DialogIntent.HANGUP)
            turn.action = TurnAction.ANSWER_INTERRUPTED
            ending = CallEnding.HANGUP_DURING_ANSWER
        self._out.forget_plays()
        self._planned, self._returning = None, False
        self._end(event.at, ending)

    def _on_transfer_result(self, event: TransferResult) -> None:
        if self._state is not DialogState.TRANSFERRING:
            return
        record = self._log.transfer_finished(event.status)
        if event.status is TransferStatus.ANSWER:
            self._end(event.at, CallEnding.TRANSFER_ANSWERED)
            return
        if event.status is TransferStatus.CANCEL:
            self._end(event.at, CallEnding.TRANSFER_CANCELLED)
            return
        # BUSY, NOANSWER, CHANUNAVAIL, CONGESTION. The Redirect took the caller's audio
        # away from the assistant: nothing said now would be heard, nor any reply to an
        # offer. The dialplan holds the caller (music) for a moment, then dials the
        # operator itself; the assistant sends them there at once and follows that dial.
        if record.target == OPERATOR:
            self._end(event.at, CallEnding.TRANSFER_FAILED)  # nobody left: the PBX hangs up
            return
        turn = self._out.begin_turn(event.at, DialogIntent.TRANSFER_FAILED)
        turn.action = TurnAction.OPERATOR
        self._log.transfer_fallback(OPERATOR)
        self._reason = _FALLBACK_REASONS.get(event.status, TransferReason.UNREACHABLE)
        transfer = self._transfer(OPERATOR)
        self._log.transfer_requested(transfer.target, transfer.extension, event.at, self._reason)
        self._out.actions.extend((TransferPlanned(transfer), transfer))

    def _on_transfer_impossible(self, event: TransferImpossible) -> None:
        """The PBX cannot take the transfer: the dialplan puts the caller through to the
        operator once the assistant leaves, and reports that dial like any transfer."""
        if self._state is not DialogState.TRANSFERRING:
            return
        self._log.transfer_finished(TransferStatus.CHANUNAVAIL)
        self._log.transfer_fallback(OPERATOR)
        self._reason = TransferReason.UNREACHABLE
        turn = self._out.begin_turn(event.at, DialogIntent.TRANSFER_FAILED)
        turn.action = TurnAction.OPERATOR
        self._out.actions.append(TransferPlanned(self._transfer(OPERATOR)))
        if event.audible:
            # Nothing was sent: the caller still hears the assistant, so they are told
            # before the dialplan takes over (after a Redirect nothing would be heard).
            self._say(self.prompts.transfer_failed(self._language), interruptible=False)
            self._returning = True
            self._state = DialogState.ANNOUNCING
            return
        self._return_to_dialplan(event.at)

    def _return_to_dialplan(self, at: datetime) -> None:
        self._log.transfer_requested(
            OPERATOR, self.kb.operator.extension, at, TransferReason.UNREACHABLE
        )
        self._out.actions.append(ReturnToDialplan())
        self._state = DialogState.TRANSFERRING

    def _on_audio_taken(self, event: AudioTakenByDialplan) -> None:
        """The PBX took the caller away from the assistant (not a hang-up): whatever was
        playing or planned is gone, and the dialplan's operator dial is followed like a
        transfer, so that the record says where the caller went."""
        if self._state is DialogState.TRANSFERRING:
            return  # a transfer is already under way: its result is what counts
        self._out.forget_plays()
        self._planned, self._returning = None, False
        self._reason = TransferReason.UNREACHABLE
        self._out.actions.append(TransferPlanned(self._transfer(OPERATOR)))
        self._log.transfer_requested(
            OPERATOR, self.kb.operator.extension, event.at, TransferReason.UNREACHABLE
        )
        self._state = DialogState.TRANSFERRING

    def _on_playback_finished(self, event: PlaybackFinished) -> None:
        if not self._out.finished(event.play_id):
            return
        if self._state is DialogState.ANNOUNCING and self._returning:
            self._returning = False
            self._return_to_dialplan(event.at)
        elif self._state is DialogState.ANNOUNCING and self._planned is not None:
            transfer = self._transfer(self._planned)
            self._planned = None
            self._log.transfer_requested(
                transfer.target, transfer.extension, event.at, self._reason
            )
            self._out.actions.append(transfer)
            self._state = DialogState.TRANSFERRING
        elif self._state is DialogState.CLOSING:
            self._out.actions.append(HangUp())
            self._end(event.at, self._close_reason)

    def _on_barge_in(self) -> None:
        listen = self._out.listen
        if self._state in _WAITING and self._out.interruptible and listen is not None:
            self._out.stop_playback()
            self._out.actions.append(listen)

    def _on_tick(self, event: Tick) -> None:
        if self._state in _WAITING and not self._out.sounding and self._over_time(event.at):
            self._out.begin_turn(event.at, DialogIntent.MAX_DURATION)
            self._max_duration(event.at)

    # --- replies by state ----------------------------------------------------------------

    def _on_request(
        self, at: datetime, words: Words, decision: RouteDecision | None, low: bool
    ) -> None:
        """A free request (while LISTENING or in the MENU)."""
        turn, lang = self._turn, self._language
        after_answer = self._question is _Question.ANYTHING_ELSE
        if self._reader.is_goodbye(words, lang, after_answer):
            self._goodbye()
        elif self._state is DialogState.LISTENING and self._reader.only_yes(words, lang):
            turn.intent, turn.action = DialogIntent.YES, TurnAction.PROMPT
            self._say(self.prompts.listening(lang))
            self._out.send_listen(None, lang)
        elif decision is None or decision.kind is RouteKind.UNKNOWN:
            self._not_understood(at, low)
        else:
            turn.intent = decision.label
            pair = self._reader.ambiguous_pair(decision)
            if pair is not None:
                self._ask_clarify(pair)
            else:
                self._route(decision.label, at)

    def _on_clarify_reply(
        self, at: datetime, words: Words, decision: RouteDecision | None, low: bool
    ) -> None:
        assert self._clarify is not None
        turn, lang = self._turn, self._language
        if self._reader.is_goodbye(words, lang, after_answer=False):
            self._goodbye()
            return
        choice = self._reader.choose(words, self._clarify, decision, lang)
        if choice is not None:
            turn.intent = choice
            self._route(choice, at)
        elif decision is not None and decision.kind is not RouteKind.UNKNOWN:
            # Neither option, but a clear new request: only one clarifying question.
            if decision.ambiguous:
                self._not_understood(at, low)
            else:
                turn.intent = decision.label
                self._route(decision.label, at)
        else:
            if self._reader.no(words, lang):
                turn.intent = DialogIntent.NO
            self._not_understood(at, low)

    def _on_offer_reply(
        self, at: datetime, words: Words, decision: RouteDecision | None, low: bool
    ) -> None:
        lang = self._language
        yes, no = self._reader.yes(words, lang), self._reader.no(words, lang)
        if no and self._reader.no_and_goodbye(words, lang):
            self._goodbye()
        elif yes or no:
            self._offer_answer(at, yes=yes and not no)
        elif self._reader.is_goodbye(words, lang, after_answer=False):
            self._goodbye()
        elif decision is not None and decision.kind is not RouteKind.UNKNOWN:
            self._offers = []
            self._on_request(at, words, decision, low)
        elif self._yes_no_retries < self.config.max_yes_no_retries:
            self._yes_no_retries += 1
            self._say(self.prompts.yes_no_repeat(lang))
            self._ask_offer()
        else:
            self._offers = []
            self._anything_else()

    def _offer_answer(self, at: datetime, yes: bool) -> None:
        """Yes or no (said or keyed) to the pending offer."""
        turn = self._turn
        turn.intent = DialogIntent.YES if yes else DialogIntent.NO
        if yes:
            self._accept_offer(at)
            return
        self._offers.pop(0)
        if self._offers:
            turn.action = TurnAction.OFFER
            self._ask_offer()
        else:
            self._anything_else()

    def _accept_offer(self, at: datetime) -> None:
        offer = self._offers[0]
        self._offers = []
        if offer.kind is _OfferKind.DETAILS:
            self._turn.action = TurnAction.DETAILS
            self._say(self.prompts.faq_details(offer.target, self._language), answer=True)
            self._anything_else()
        elif offer.kind is _OfferKind.FAQ:
            self._answer(offer.target)
        elif offer.kind is _OfferKind.OPERATOR:
            # Operators are offered only when the department asked for is closed.
            self._to_target(OPERATOR, at, TransferReason.CLOSED)
        else:
            self._turn.action = TurnAction.CALLBACK
            request = CallbackRequest(
                call_id=self._log.call_id,
                requested_at=at,
                department=None if offer.target == OPERATOR else offer.target,
                language=self._language,
                caller_number=self._log.caller_number,
                note=self._excerpt() or self._request_label,
            )
            self._log.add_callback(request)
            self._out.actions.append(RecordCallback(request))
            self._say(self.prompts.callback_recorded(self._language))
            self._anything_else()

    def _language_request(self, language: str) -> None:
        turn = self._turn
        turn.intent = language_intent(language)
        if language in self.kb.city.languages:
            turn.action = TurnAction.LANGUAGE
            self._language = language
            self._say(self.prompts.language_switched(language))
        else:
            turn.action = TurnAction.LANGUAGE_UNAVAILABLE
            self._say(self.prompts.language_unavailable(self._language))
        self._ask_again()

    # --- destinations --------------------------------------------------------------------

    def _route(self, label: str, at: datetime, keypad: bool = False) -> None:
        """Go where a routing label points: an FAQ answer, a department, the operator."""
        self._reader.check_label(label)
        self._clarify = None
        kind = kind_of(label)
        if kind is RouteKind.FAQ:
            self._failures = 0
            self._answer(label[len(FAQ_PREFIX) :])
            return
        if keypad:
            reason = TransferReason.KEYPAD
        elif kind is RouteKind.OPERATOR:
            reason = TransferReason.ASKED_FOR_PERSON
        else:
            reason = TransferReason.ROUTED
        self._to_target(OPERATOR if kind is RouteKind.OPERATOR else label, at, reason)

    def _answer(self, faq_id: str) -> None:
        self._turn.action = TurnAction.ANSWER
        self._helped = True
        self._say(self.prompts.faq_answer(faq_id, self._language), answer=True)
        if self.prompts.has_details(faq_id, self._language):
            self._start_offers([_Offer(_OfferKind.DETAILS, faq_id)])
        else:
            self._anything_else()

    def _to_target(self, target: str, at: datetime, reason: TransferReason) -> None:
        """Transfer to a department or the operator when open; else say its hours and offer."""
        self._failures = self._menu_failures = 0
        self._clarify, self._offers = None, []
        intent = self._turn.intent
        if intent not in (DialogIntent.YES, DialogIntent.TRANSFER_FAILED):
            # Keep what the caller asked for, not the "yes" that accepted an offer.
            self._request_label = intent
        if target != OPERATOR:
            self._log.department = target
        if self.kb.is_open(target, at):
            self._announce(target, reason)
        else:
            self._closed(target, at)

    def _announce(self, target: str, reason: TransferReason) -> None:
        self._helped = True
        is_operator = target == OPERATOR
        self._turn.action = TurnAction.OPERATOR if is_operator else TurnAction.TRANSFER
        self._reason = reason
        self._plan_to_tell = True
        self._say(self.prompts.transfer(target, self._language), interruptible=False)
        self._planned = target
        self._state = DialogState.ANNOUNCING

    def _closed(self, target: str, at: datetime) -> None:
        self._turn.action = TurnAction.CLOSED
        lang = self._language
        today = at.astimezone(self.kb.city.zone).date()
        hours = self.prompts.target_hours(target)
        if today in hours.exceptions:
            self._say(self.prompts.exception_today(hours.exceptions[today], lang))
        elif today in self.kb.city.holidays:
            self._say(self.prompts.holiday_today(lang))
        self._say(self.prompts.closed(target, lang))
        offers: list[_Offer] = []
        if target != OPERATOR:
            related = self._reader.related_faq(target, self._candidates)
            if related is not None:
                offers.append(_Offer(_OfferKind.FAQ, related))
            if self.kb.is_open(OPERATOR, at):
                offers.append(_Offer(_OfferKind.OPERATOR, OPERATOR))
        if self._log.caller_number:
            offers.append(_Offer(_OfferKind.CALLBACK, target))
        self._start_offers(offers)

    def _not_understood(self, at: datetime, low_confidence: bool) -> None:
        self._failures += 1
        lang = self._language
        if self._state is DialogState.MENU:
            self._menu_failures += 1
            if self._menu_failures >= self.config.max_menu_failures:
                self._to_target(OPERATOR, at, TransferReason.NOT_UNDERSTOOD)
            else:
                self._say(self.prompts.rephrase(lang, low_confidence))
                self._announce_menu(self._menu_group)
        elif self._failures >= self.config.max_failures:
            self._announce_menu()
        else:
            self._turn.action = TurnAction.REPHRASE
            self._say(self.prompts.rephrase(lang, low_confidence))
            self._wait(DialogState.LISTENING, _Question.OPEN)

    def _max_duration(self, at: datetime) -> None:
        self._max_duration_reached = True
        self._offers, self._clarify = [], None
        self._turn.intent = DialogIntent.MAX_DURATION
        self._say(self.prompts.max_duration(self._language), interruptible=False)
        if self.kb.is_open(OPERATOR, at):
            self._announce(OPERATOR, TransferReason.MAX_DURATION)
        else:
            self._turn.action = TurnAction.GOODBYE
            self._say(self.prompts.goodbye(self._language), interruptible=False)
            self._close(CallEnding.MAX_DURATION)

    def _goodbye(self) -> None:
        turn = self._turn
        turn.intent, turn.action = DialogIntent.GOODBYE, TurnAction.GOODBYE
        self._say(self.prompts.goodbye(self._language), interruptible=False)
        self._close(CallEnding.GOODBYE)

    # --- questions -----------------------------------------------------------------------

    def _announce_menu(self, group: str | None = None) -> None:
        """The keypad menu's first level, or a group's second level."""
        self._turn.action = TurnAction.MENU
        if self._state is not DialogState.MENU:
            self._menu_failures = 0
        self._menu_group = group
        self._offers, self._clarify = [], None
        self._say(self.prompts.menu(self._language, group))
        self._wait(DialogState.MENU, _Question.MENU)

    def _ask_clarify(self, pair: tuple[str, str]) -> None:
        self._turn.action = TurnAction.CLARIFY
        self._clarify = pair
        self._say(self.prompts.clarify(*pair, self._language))
        self._wait(DialogState.CLARIFYING, _Question.CLARIFY)

    def _start_offers(self, offers: list[_Offer]) -> None:
        self._offers = offers
        self._yes_no_retries = 0
        if offers:
            self._ask_offer()
        else:
            self._anything_else()

    def _ask_offer(self) -> None:
        offer, lang = self._offers[0], self._language
        if offer.kind is _OfferKind.DETAILS:
            prompt = self.prompts.offer_details(lang)
        elif offer.kind is _OfferKind.FAQ:
            prompt = self.prompts.offer_faq(offer.target, lang)
        elif offer.kind is _OfferKind.OPERATOR:
            prompt = self.prompts.offer_operator(lang)
        else:
            prompt = self.prompts.offer_callback(offer.target, lang)
        self._say(prompt)
        if self._keypad_used:
            self._say(self.prompts.keypad_yes_no(lang))
        self._wait(DialogState.OFFERING, _Question.OFFER, self._reader.yes_no_grammar(lang))

    def _anything_else(self) -> None:
        self._say(self.prompts.anything_else(self._language))
        self._wait(DialogState.LISTENING, _Question.ANYTHING_ELSE)

    def _ask_again(self) -> None:
        """Repeat the pending question (after a silence prompt or a language switch)."""
        lang = self._language
        if self._question is _Question.OFFER and self._offers:
            self._ask_offer()
            return
        if self._question is _Question.CLARIFY and self._clarify is not None:
            self._say(self.prompts.clarify(*self._clarify, lang))
        elif self._question is _Question.MENU:
            self._say(self.prompts.menu(lang, self._menu_group))
        elif self._question is _Question.ANYTHING_ELSE:
            self._say(self.prompts.anything_else(lang))
        else:
            self._say(self.prompts.how_can_i_help(lang))
        self._out.send_listen(None, lang)

    # --- helpers -------------------------------------------------------------------------

    @property
    def _log(self) -> CallJournal:
        assert self._journal is not None, "handle() refuses events before CallStarted"
        return self._journal

    @property
    def _turn(self) -> TurnDraft:
        return self._out.current

    def _say(self, prompt: Prompt, interruptible: bool = True, answer: bool = False) -> None:
        self._out.say(prompt, interruptible, answer)

    def _wait(
        self, state: DialogState, question: _Question, grammar: tuple[str, ...] | None = None
    ) -> None:
        self._state, self._question = state, question
        self._out.send_listen(grammar, self._language)

    def _close(self, reason: CallEnding) -> None:
        self._state = DialogState.CLOSING
        self._close_reason = reason

    def _end(self, at: datetime, reason: CallEnding) -> None:
        self._ending = (at, reason)

    def _over_time(self, at: datetime) -> bool:
        if self._max_duration_reached:
            return False
        return at - self._log.started_at >= self.config.max_call_duration

    def _transfer(self, target: str) -> Transfer:
        """The transfer action, with what the person picking up should know."""
        kb, is_operator = self.kb, target == OPERATOR
        extension = kb.operator.extension if is_operator else kb.department(target).extension
        department = self._log.department if is_operator else target
        summary = TransferSummary(
            str(self._request_label),
            department,
            self._excerpt(),
            self._language,
            self._reason,
            tuple(self._transcripts[-MAX_UTTERANCES:]),
        )
        return Transfer(extension, target, summary)

    def _excerpt(self) -> str:
        """The caller's last requests (not their yes/no replies), most recent last."""
        limit = self.config.summary_max_chars
        excerpt = " / ".join(self._transcripts[-3:])
        return "…" + excerpt[-(limit - 1) :] if len(excerpt) > limit else excerpt
