"""One call: AudioSocket audio in, voice activity and endpointing, recognition, routing,
the dialog's actions out (speech, transfers, records).

Everything time-based runs on the event loop's clock, never on a count of frames:
Asterisk sends no audio at all during some silences. A closed TCP connection is the
normal end of a call (Asterisk sends no hangup message), and after a transfer it is the
Redirect taking effect: the session then waits for the dial result on the AMI side.
When Asterisk ends AudioSocket by itself (its inactivity timeout) the caller is still
there and the dialplan puts them through to the operator: AMI tells that from a hang-up,
and the session follows that dial too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from voicebot.calllog.callbacks import callback_key
from voicebot.calllog.rows import InvalidRecordError, storable
from voicebot.calls.agent_notice import AgentNotice, agent_notice
from voicebot.calls.recognition import CallRecognizer
from voicebot.calls.services import CallServices
from voicebot.dialog import (
    Action,
    AudioTakenByDialplan,
    BargeIn,
    CallStarted,
    Dialog,
    DtmfDigit,
    EndCall,
    Event,
    HangUp,
    Hangup,
    Listen,
    Play,
    PlaybackFinished,
    RecordCallback,
    RecordTurn,
    ReturnToDialplan,
    SilenceTimeout,
    StopPlayback,
    Tick,
    Transfer,
    TransferImpossible,
    TransferPlanned,
    TransferResult,
    Utterance,
)
from voicebot.live.events import (
    CallbackRequestedEvent,
    CallEndedEvent,
    CallStartedEvent,
    TransferDecidedEvent,
    TransferEvent,
    TurnEvent,
)
from voicebot.records import CallRecord, TransferStatus, TurnRecord
from voicebot.routing.decision import RouteDecision
from voicebot.speech.endpointing import Endpointer, EndpointEvent, EndpointEventType
from voicebot.speech.vad import BargeInDetector
from voicebot.speech.voicing import VoicedFrames
from voicebot.telephony.ami_types import AmiError
from voicebot.telephony.audiosocket import AudioSocketConnection, CloseReason
from voicebot.telephony.audiosocket_codec import AudioMessage, DtmfMessage, HangupMessage

_LOGGER = logging.getLogger(__name__)

POLL_S = 0.02
"""How often the clock is checked when no frame arrives (endpointing, timeouts)."""
TICK_S = 1.0
"""How often the dialog hears the time (maximum call duration)."""
PREROLL_FRAMES = 15
"""Audio kept before speech is confirmed (300 ms), so the first syllable is recognised."""
SPEECH_PROBABILITY = 0.5
HANGUP_AFTER_CLOSE_S = 2.0
"""How long the channel's Hangup may lag the end of AudioSocket when the caller hung up
(under a millisecond recorded): past it, the caller is still there."""
_ASSISTANT_CLOSED = frozenset(
    {CloseReason.LOCAL_CLOSE, CloseReason.LOCAL_HANGUP, CloseReason.SERVER_STOP}
)


class CallSession:
    """Runs one AudioSocket connection from the UUID to the call record."""

    def __init__(self, conn: AudioSocketConnection, services: CallServices) -> None:
        self._conn = conn
        self._services = services
        self._call_id = str(conn.call_id)
        self._callbacks_requested = 0
        self._router = services.router  # pinned: a KB edit applies to the next call
        self._dialog = Dialog(services.kb, services.dialog_config, clock=time.perf_counter)
        self._loop = asyncio.get_running_loop()
        now = self._loop.time()
        self._vad = services.vad_factory()
        self._endpointer = Endpointer(services.endpointing, start_time=now)
        self._voiced = VoicedFrames()
        self._barge_in = BargeInDetector(services.barge_in_chunks)
        self._language = services.kb.city.default_language
        self._grammar: tuple[str, ...] | None = None
        self._recognizer: CallRecognizer = services.recognizers.create(
            self._call_id, self._language, None
        )
        self._preroll: deque[bytes] = deque(maxlen=PREROLL_FRAMES)
        self._in_speech = False
        self._pending: deque[Event] = deque()
        self._play_timers: dict[int, asyncio.TimerHandle] = {}
        self._playing_until = now
        self._next_tick = now + TICK_S
        self._channel: str | None = None
        self._transfer_pending = False
        self._record: CallRecord | None = None
        self._turn_extras: dict[int, dict[str, float]] = {}
        self._speech_end_at: float | None = None
        self._reply_timing: dict[str, float] | None = None

    def _now(self) -> datetime:
        return self._services.clock()

    @property
    def call_id(self) -> str:
        """The AudioSocket UUID of the call."""
        return self._call_id

    async def run(self) -> CallRecord | None:
        """Serve the call until it ends; return its record (also sent to the call log)."""
        try:
            await self._start()
            await self._serve_audio()
            await self._finish_after_audio()
        except asyncio.CancelledError:
            # Shutdown: the call still gets its record.
            if self._record is None:
                await self._handle(Hangup(at=self._now()))
            raise
        except Exception:
            _LOGGER.exception("call=%s session failed", self._call_id)
            if self._record is None:
                await self._handle(Hangup(at=self._now()))
        finally:
            for handle in self._play_timers.values():
                handle.cancel()
            if not self._conn.closed:
                await self._conn.close()
            if self._services.control is not None:
                self._services.control.forget(self._call_id)
        return self._record

    # --- phases -------------------------------------------------------------------------

    async def _start(self) -> None:
        caller = None
        if self._services.control is not None:
            caller = await self._services.control.caller(self._call_id)
        self._channel = caller.channel if caller else None
        started_at = self._now()
        caller_number = caller.caller_number if caller else None
        if self._services.journal is not None:
            self._services.journal.started(
                self._call_id, started_at, self._language, caller_number, self._channel
            )
        self._services.publish(CallStartedEvent(self._call_id, started_at, self._language))
        await self._handle(
            CallStarted(
                at=started_at,
                call_id=self._call_id,
                caller_number=caller_number,
                channel=self._channel,
            )
        )

    async def _serve_audio(self) -> None:
        while self._record is None and not self._conn.closed:
            try:
                message = await self._conn.receive(timeout=POLL_S)
            except TimeoutError:
                message = None
            else:
                if message is None:
                    break
            now = self._loop.time()
            if isinstance(message, AudioMessage):
                await self._on_audio(message.pcm, now)
            elif isinstance(message, DtmfMessage):
                await self._handle(DtmfDigit(at=self._now(), digit=message.digit))
            elif isinstance(message, HangupMessage):
                break
            await self._on_clock(now)

    async def _finish_after_audio(self) -> None:
        """The connection is gone: a transfer taking effect, the caller hanging up, or
        Asterisk ending AudioSocket by itself."""
        await self._follow_audio_taken()
        while self._record is None:
            if self._pending:
                await self._handle(self._next_pending())
                continue
            control = self._services.control
            if self._transfer_pending and control is not None:
                self._transfer_pending = False
                status = await control.dial_result(
                    self._call_id, self._services.transfer_result_timeout_s
                )
                if status is not None:
                    await self._handle(
                        TransferResult(at=self._now(), status=_transfer_status(status))
                    )
                    continue
            await self._handle(Hangup(at=self._now()))

    async def _follow_audio_taken(self) -> None:
        """Asterisk ended AudioSocket while nothing asked it to (no Redirect, no 0x00, not
        our close): unless the channel hangs up at once, the dialplan is putting the caller
        through to the operator, which the record must say rather than "abandoned"."""
        control = self._services.control
        reason = self._conn.close_reason
        if (
            self._record is not None
            or self._transfer_pending
            or control is None
            or self._channel is None
            or reason is None
            or reason in _ASSISTANT_CLOSED
        ):
            return
        ended_at = self._now()
        if not await control.still_on_line(self._call_id, HANGUP_AFTER_CLOSE_S):
            return
        _LOGGER.warning(
            "call=%s Asterisk ended AudioSocket by itself (%s) with the caller still on the "
            "line: the dialplan puts the call through to the operator",
            self._call_id,
            reason,
        )
        await self._handle(AudioTakenByDialplan(at=ended_at))
        self._transfer_pending = True

    # --- inbound audio and the clock ----------------------------------------------------

    async def _on_audio(self, pcm: bytes, now: float) -> None:
        self._preroll.append(pcm)
        self._voiced.observe(now, pcm)
        for chunk in self._vad.process(pcm):
            speech = chunk.probability >= SPEECH_PROBABILITY
            if self._barge_in.observe(chunk) is not None:
                await self._handle(BargeIn(at=self._now()))
            # Read the clock afresh: handling an event may have awaited (and reset the
            # endpointer at a later time) since this frame arrived.
            # Silence is counted from the last voiced frame, not from the VAD's late "speech".
            voiced_at = self._voiced.last_voiced
            for event in self._endpointer.observe(self._loop.time(), speech, voiced_at):
                await self._on_endpoint(event, self._loop.time())
        if self._in_speech:
            # Frames since speech started, plus the pre-roll before it, go to the recogniser.
            for frame in self._preroll:
                await self._recognizer.accept(frame)
            self._preroll.clear()

    def _next_pending(self) -> Event:
        event = self._pending.popleft()
        if isinstance(event, TransferImpossible) and event.audible and self._conn.closed:
            # The line went meanwhile: an apology would be recorded but never heard.
            event = replace(event, audible=False)
        return event

    async def _on_clock(self, now: float) -> None:
        while self._pending and self._record is None:
            await self._handle(self._next_pending())
        for event in self._endpointer.tick(self._loop.time()):
            await self._on_endpoint(event, self._loop.time())
        if now >= self._next_tick and self._record is None:
            self._next_tick = now + TICK_S
            await self._handle(Tick(at=self._now()))

    async def _on_endpoint(self, event: EndpointEvent, now: float) -> None:
        if event.type is EndpointEventType.SPEECH_START:
            self._in_speech = True
        elif event.type in (EndpointEventType.SPEECH_END, EndpointEventType.MAX_UTTERANCE):
            self._in_speech = False
            await self._on_utterance_end(event, now)
        elif event.type is EndpointEventType.NO_INPUT:
            if now < self._playing_until:
                self._restart_endpointing(now)  # the assistant is still talking
                return
            await self._handle(SilenceTimeout(at=self._now()))
            self._restart_endpointing(self._loop.time())

    async def _on_utterance_end(self, event: EndpointEvent, now: float) -> None:
        last_voice = event.speech_end if event.speech_end is not None else now
        started = time.perf_counter()
        transcript = await self._recognizer.finish()
        asr_ms = (time.perf_counter() - started) * 1000
        decision: RouteDecision | None = None
        routing_ms = 0.0
        if transcript.text:
            started = time.perf_counter()
            decision = await self._loop.run_in_executor(
                None, self._router.route, transcript.text, self._language
            )
            routing_ms = (time.perf_counter() - started) * 1000
        self._speech_end_at = last_voice
        self._reply_timing = {
            "endpoint_ms": round((now - last_voice) * 1000, 2),
            "asr_ms": round(asr_ms, 2),
            "routing_ms": round(routing_ms, 2),
            "audio_ms": round(transcript.audio_ms, 1),
            "asr_decode_ms": round(transcript.decode_ms, 2),
        }
        await self._handle(
            Utterance(
                at=self._now(),
                text=transcript.text,
                confidence=transcript.confidence if transcript.text else None,
                language=self._language,
                decision=decision,
                timings_ms=dict(self._reply_timing),
            )
        )
        self._restart_endpointing(self._loop.time())

    def _restart_endpointing(self, at: float) -> None:
        """A new turn: the endpointer and the voiced-frame tracker start again."""
        self._endpointer.reset(at)
        self._voiced.reset()

    # --- dialog actions -----------------------------------------------------------------

    async def _handle(self, event: Event) -> None:
        if self._record is not None:
            return
        actions = self._dialog.handle(event)
        deferred: list[Action] = []
        for action in actions:
            if isinstance(action, RecordTurn | EndCall):
                deferred.append(action)
            else:
                await self._execute(action)
        for action in deferred:
            await self._execute(action)
        self._reply_timing = None

    async def _execute(self, action: Action) -> None:
        if isinstance(action, Play):
            await self._play(action)
        elif isinstance(action, Listen):
            self._listen(action)
        elif isinstance(action, StopPlayback):
            self._stop_playback()
        elif isinstance(action, TransferPlanned):
            self._services.publish(
                _transfer_event(TransferDecidedEvent, self._call_id, action.transfer, self._now())
            )
        elif isinstance(action, Transfer):
            await self._transfer(action)
        elif isinstance(action, HangUp):
            await self._hang_up()
        elif isinstance(action, ReturnToDialplan):
            await self._return_to_dialplan()
        elif isinstance(action, RecordTurn):
            self._record_turn(action.turn)
        elif isinstance(action, RecordCallback):
            # The key lets operators act on the request before the call's record exists.
            key = callback_key(self._call_id, self._callbacks_requested)
            self._callbacks_requested += 1
            request = action.request
            self._services.publish(
                CallbackRequestedEvent(
                    call_id=self._call_id,
                    at=self._now(),
                    callback_key=key,
                    requested_at=request.requested_at,
                    department=request.department,
                    language=request.language,
                    caller_number=request.caller_number,
                    note=request.note,
                )
            )
        elif isinstance(action, EndCall):
            self._end_call(action.record)

    async def _play(self, action: Play) -> None:
        now = self._loop.time()
        if self._conn.closed:
            self._pending.append(PlaybackFinished(at=self._now(), play_id=action.play_id))
            return
        started = time.perf_counter()
        audio = await self._services.tts.get(action.text, action.language, action.prompt_key)
        if self._reply_timing is not None and self._speech_end_at is not None:
            self._reply_timing["tts_ms"] = round((time.perf_counter() - started) * 1000, 2)
            self._reply_timing["reply_ready_ms"] = round(
                (self._loop.time() - self._speech_end_at) * 1000, 2
            )
            self._speech_end_at = None
        if self._conn.closed:
            self._pending.append(PlaybackFinished(at=self._now(), play_id=action.play_id))
            return
        self._conn.play(audio.pcm)
        self._playing_until = max(self._playing_until, now) + audio.duration_s
        self._play_timers[action.play_id] = self._loop.call_at(
            self._playing_until, self._playback_done, action.play_id
        )
        if action.interruptible:
            self._barge_in.arm()

    def _playback_done(self, play_id: int) -> None:
        self._play_timers.pop(play_id, None)
        if not self._play_timers:
            self._barge_in.disarm()
            if not self._in_speech:
                # Silence is counted from the end of what the assistant said.
                self._restart_endpointing(self._loop.time())
        self._pending.append(PlaybackFinished(at=self._now(), play_id=play_id))

    def _stop_playback(self) -> None:
        if not self._conn.closed:
            self._conn.stop_playback()
        for handle in self._play_timers.values():
            handle.cancel()
        self._play_timers.clear()
        self._playing_until = self._loop.time()
        self._barge_in.disarm()

    def _listen(self, action: Listen) -> None:
        if action.language != self._language or action.grammar != self._grammar:
            self._language = action.language
            self._grammar = action.grammar
            self._recognizer = self._services.recognizers.create(
                self._call_id, self._language, self._grammar
            )

    async def _transfer(self, action: Transfer) -> None:
        control = self._services.control
        self._services.publish(_transfer_event(TransferEvent, self._call_id, action, self._now()))
        if self._services.journal is not None:
            self._services.journal.transferring(
                self._call_id, self._now(), action.target, action.extension
            )
        await self._find_channel()
        if control is None or self._channel is None:
            self._transfer_impossible(action, "no PBX channel known for this call")
            return
        notice = agent_notice(self._services.kb, action)
        whisper = await self._whisper(notice)
        try:
            await control.transfer(
                self._call_id, self._channel, action, whisper, screen_pop=notice.screen_pop
            )
        except AmiError as exc:
            self._transfer_impossible(action, str(exc))
            return
        except Exception as exc:
            # Whatever broke, the caller must still reach a person: the dialplan's fallback.
            _LOGGER.exception("call=%s transfer to %s raised", self._call_id, action.extension)
            self._transfer_impossible(action, f"{type(exc).__name__}: {exc}")
            return
        self._transfer_pending = True
        # The Redirect took the caller away (Asterisk closes its side about 0.2 ms after
        # its response): close ours too; the dial result comes over AMI only.
        if not self._conn.closed:
            await self._conn.close()

    def _transfer_impossible(self, action: Transfer, reason: str) -> None:
        _LOGGER.error(
            "call=%s transfer to %s impossible (%s): leaving the call to the dialplan, "
            "which puts it through to the operator",
            self._call_id,
            action.extension,
            reason,
        )
        self._pending.append(
            TransferImpossible(at=self._now(), reason=reason, audible=not self._conn.closed)
        )

    async def _return_to_dialplan(self) -> None:
        """Close AudioSocket without VB_DONE: the dialplan dials the operator and reports
        the dial result, which the session then waits for like any transfer's."""
        if self._services.journal is not None:
            kb = self._services.kb
            self._services.journal.transferring(
                self._call_id, self._now(), "operator", kb.operator.extension
            )
        self._transfer_pending = True
        if not self._conn.closed:
            await self._conn.close()

    async def _whisper(self, notice: AgentNotice) -> bytes | None:
        """What the agent hears before taking the call, in the agent's language."""
        try:
            audio = await self._services.tts.synthesizer.synthesize(
                notice.whisper_text, notice.language
            )
        except Exception as exc:
            _LOGGER.warning("call=%s whisper synthesis failed: %s", self._call_id, exc)
            return None
        return audio.pcm

    async def _find_channel(self) -> None:
        """Ask again for a channel Asterisk did not announce in time (its event may have
        been lost with the AMI connection and found again by the resync after it)."""
        control = self._services.control
        if self._channel is None and control is not None:
            caller = await control.caller(self._call_id)
            self._channel = caller.channel if caller else None

    async def _hang_up(self) -> None:
        await self._find_channel()
        control = self._services.control
        if control is not None and self._channel is not None:
            await control.mark_done(self._call_id, self._channel)
        if not self._conn.closed:
            await self._conn.drain_playback()
            await self._conn.send_hangup()

    def _record_turn(self, turn: TurnRecord) -> None:
        extras = {k: v for k, v in (self._reply_timing or {}).items() if k not in turn.timings_ms}
        if extras:
            self._turn_extras[turn.index] = extras
        timings = {**turn.timings_ms, **extras}
        self._services.publish(
            TurnEvent(
                call_id=self._call_id,
                at=turn.started_at,
                index=turn.index,
                language=turn.language,
                intent=turn.intent,
                action=turn.action,
                transcript=turn.transcript,
                reply_text=turn.reply_text,
                score=turn.score,
                timings_ms=timings,
            )
        )
        _LOGGER.info(
            "call=%s turn=%d intent=%s action=%s timings=%s",
            self._call_id,
            turn.index,
            turn.intent,
            turn.action,
            timings,
        )

    def _end_call(self, record: CallRecord) -> None:
        turns = tuple(
            replace(turn, timings_ms={**turn.timings_ms, **self._turn_extras[turn.index]})
            if turn.index in self._turn_extras
            else turn
            for turn in record.turns
        )
        self._record = storable(replace(record, turns=turns))
        try:
            self._services.records.submit(self._record)
        except (InvalidRecordError, TypeError) as error:
            _LOGGER.error("call=%s record refused by the call log: %s", self._call_id, error)
            if self._services.journal is not None:
                # Logged above; an "interrupted" record at the next start would be untrue.
                self._services.journal.ended([self._call_id])
        self._services.publish(
            CallEndedEvent(
                call_id=self._call_id,
                at=self._now(),
                outcome=str(record.outcome),
                department=record.department,
                turns=len(turns),
            )
        )
        _LOGGER.info("call=%s ended outcome=%s turns=%d", self._call_id, record.outcome, len(turns))


_TransferKind = TypeVar("_TransferKind", TransferDecidedEvent, TransferEvent)


def _transfer_event(
    kind: type[_TransferKind], call_id: str, action: Transfer, at: datetime
) -> _TransferKind:
    """The live event of a transfer decided or sent, from the dialog's action."""
    summary = action.summary
    return kind(
        call_id=call_id,
        at=at,
        target=action.target,
        extension=action.extension,
        reason=summary.reason,
        department=summary.department,
        intent=summary.intent,
        language=summary.language,
        summary=summary.transcript,
        utterances=summary.utterances,
    )


def _transfer_status(status: str) -> TransferStatus:
    """Asterisk's DIALSTATUS as the dialog knows it; rarer values count as unavailable."""
    try:
        return TransferStatus(str(status))
    except ValueError:
        return TransferStatus.CHANUNAVAIL
