"""The caller side of the Asterisk simulator: one call's AudioSocket stream and its record.

A ``SimulatedCall`` behaves like Asterisk's AudioSocket application towards the
assistant (apps/app_audiosocket.c, res/res_audiosocket.c): it connects, sends the 0x01
UUID message, streams 0x10 frames in real time (normally 320 bytes, optionally odd sizes,
and nothing at all during silence), sends a DTMF digit as one ASCII byte (0x03), and ends
by closing TCP -- never with a 0x00 message, also when it gives up after
``inactivity_timeout`` seconds without a frame in either direction (2000 ms in
app_audiosocket.c, as a recorded Asterisk 22.10.1 did). Its close is a FIN after which it
takes nothing more from the assistant; the simulator then goes on watching the socket
only to see when the assistant's own FIN comes (``assistant_closed_at``): 1-4 ms later
in the capture, 4-37 s later after a Redirect while the assistant kept its half open
until the dial result (issue 12 item 5). From the assistant it accepts only audio and
hangup: any other kind makes Asterisk log "Received AudioSocket message other than hangup
or audio" and end AudioSocket(), which the simulator reproduces (the dialplan then goes on
to the operator, see ``dialplan``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
import time
import uuid
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from voicebot.telephony.ami_codec import AmiHeaders
from voicebot.telephony.audiosocket_codec import (
    FRAME_BYTES,
    SAMPLE_RATE,
    AudioMessage,
    AudioSocketDecoder,
    AudioSocketProtocolError,
    DtmfMessage,
    HangupMessage,
    MessageKind,
    UuidMessage,
    encode,
    encode_audio,
)
from voicebot.telephony.simulator.channels import SimChannel

_LOGGER = logging.getLogger(__name__)


class CallStage(StrEnum):
    """Where a simulated call is in the dialplan."""

    CONNECTING = "connecting"
    WITH_ASSISTANT = "with_assistant"
    TRANSFERRED = "transferred"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class HeardFrame:
    """One message received from the assistant, with its arrival time."""

    kind: MessageKind
    payload: bytes
    at: float
    """time.monotonic() at arrival."""

    @property
    def voiced(self) -> bool:
        """True unless the frame is digital silence (the assistant's keep-alive)."""
        return any(self.payload)


@dataclass(frozen=True, slots=True)
class RecordedAction:
    """An AMI action the simulator received."""

    name: str
    headers: AmiHeaders
    at: float


@dataclass(frozen=True, slots=True)
class EmittedEvent:
    """An AMI event the simulator broadcast."""

    name: str
    headers: AmiHeaders


class CallHost(Protocol):
    """What a simulated call tells the PBX that placed it (``AsteriskSimulator``)."""

    def on_assistant_gone(self, call: SimulatedCall) -> None:
        """The assistant closed AudioSocket (or sent 0x00, or an invalid message)."""

    def emit_dtmf(self, call: SimulatedCall, digit: str, *, begin: bool) -> None:
        """DTMFBegin / DTMFEnd for a key the caller pressed."""

    def on_caller_hangup(self, call: SimulatedCall, *, with_assistant: bool) -> None:
        """The caller hung up."""


class SimulatedCall:
    """A simulated caller connected to the assistant through AudioSocket."""

    def __init__(self, simulator: CallHost, channel: SimChannel, call_id: uuid.UUID) -> None:
        self.simulator = simulator
        self.channel = channel
        """The channel the dialplan announces in the VoicebotCall UserEvent."""
        self.call_id = call_id
        self.stage = CallStage.CONNECTING
        self.related: list[SimChannel] = []
        """Other channels of this call (Local ;2 half, AudioSocket channel, callee)."""
        self.caller_leg: SimChannel | None = None
        """For a Local-channel call, the other half (the caller's side, ``;1``): it hangs
        up first when the caller does, last when the dialplan ends the call."""
        self.heard: list[HeardFrame] = []
        """Every audio message from the assistant, in arrival order, keep-alive silence
        (all-zero frames) included: ``voiced`` tells them apart."""
        self.voiced_bytes = 0
        """Bytes of the frames that carry sound."""
        self.last_voiced_at: float | None = None
        """time.monotonic() of the last frame that carried sound."""
        self.inactivity_timeout: float | None = None
        """Seconds without a frame either way after which AudioSocket() gives up."""
        self.ended_by_inactivity = False
        """True when AudioSocket ended because no frame flowed in either direction."""
        self.actions: list[RecordedAction] = []
        """AMI actions naming this call's channel, in arrival order."""
        self.events: list[EmittedEvent] = []
        """AMI events emitted for this call."""
        self.transfers: list[str] = []
        """``context,exten,priority`` of every Redirect, in order."""
        self.hangup_from_assistant = False
        """True when the assistant sent 0x00."""
        self.protocol_errors: list[str] = []
        """What Asterisk would have logged about the assistant's stream."""
        self.frames_sent = 0
        self.assistant_closed_at: float | None = None
        """time.monotonic() when the assistant's FIN arrived."""
        self.events_before_assistant_closed: int | None = None
        """How many of ``events`` had been emitted when the assistant's FIN arrived."""
        self.bytes_after_close = 0
        """What the assistant sent after Asterisk's FIN (a real one answers with a RST)."""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._media: asyncio.Task[None] | None = None
        self._media_paused = 0
        self._sending = 0
        self._last_activity = time.monotonic()
        self._socket_closed = asyncio.Event()
        self._ended = asyncio.Event()
        self._heard_changed = asyncio.Event()
        self.department_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SimulatedCall({self.call_id}, {self.channel.name}, {self.stage})"

    # Connection ------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> None:
        """Open the AudioSocket TCP connection and send the UUID (ast_audiosocket_init())."""
        # res_audiosocket.c gives up connecting after MAX_CONNECT_TIMEOUT_MSEC (2000 ms).
        async with asyncio.timeout(2.0):
            reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader, self._writer = reader, writer
        writer.write(encode(UuidMessage(self.call_id)))
        self.stage = CallStage.WITH_ASSISTANT
        self._last_activity = time.monotonic()
        loop = asyncio.get_running_loop()
        self._read_task = loop.create_task(
            self._read_loop(reader), name=f"simulated call {self.call_id}"
        )
        if self.inactivity_timeout is not None:
            self._watchdog = loop.create_task(
                self._watch_inactivity(self.inactivity_timeout),
                name=f"audiosocket timeout {self.call_id}",
            )

    async def _watch_inactivity(self, limit: float) -> None:
        """End AudioSocket like app_audiosocket.c: no frame either way for ``limit`` s."""
        while self.socket_open and self.stage is CallStage.WITH_ASSISTANT:
            remaining = self._last_activity + limit - time.monotonic()
            if remaining <= 0:
                _LOGGER.info(
                    "simulated call %s: no frame either way for %.0f ms, ending AudioSocket",
                    self.call_id,
                    limit * 1000,
                )
                self.ended_by_inactivity = True
                self.end_audiosocket()
                return
            await asyncio.sleep(remaining)

    def end_audiosocket(self) -> None:
        """AudioSocket() gives up by itself (its inactivity timeout, a stream it cannot
        read): a FIN to the assistant, then the dialplan goes on from TryExec -- Hangup()
        if the assistant set VB_DONE=1, otherwise the operator."""
        if self.stage is not CallStage.WITH_ASSISTANT:
            return
        self.close_socket()
        self.simulator.on_assistant_gone(self)

    @property
    def socket_open(self) -> bool:
        """True while the AudioSocket TCP connection is up."""
        return self._writer is not None and not self._socket_closed.is_set()

    def close_socket(self) -> None:
        """Close AudioSocket TCP from Asterisk's side (hangup, Redirect): a FIN, and
        nothing more taken from the assistant; its own FIN is still watched for."""
        writer = self._writer
        if writer is None or self._socket_closed.is_set():
            return
        self._socket_closed.set()
        if self.assistant_closed_at is not None or writer.is_closing():
            writer.close()
            return
        try:
            writer.write_eof()
        except OSError:
            writer.close()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        decoder = AudioSocketDecoder()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    self.assistant_closed_at = time.monotonic()
                    self.events_before_assistant_closed = len(self.events)
                    break
                if self._socket_closed.is_set():
                    self.bytes_after_close += len(data)
                    continue
                now = time.monotonic()
                if not self._take(decoder, data, now):
                    break
            if not self._socket_closed.is_set():
                # AudioSocket() returned: TryExec lets the dialplan go on.
                self.close_socket()
                if self.stage is CallStage.WITH_ASSISTANT:
                    self.simulator.on_assistant_gone(self)
                await self._wait_assistant_fin(reader)
        except OSError as exc:
            self.protocol_errors.append(f"socket error: {exc}")
        finally:
            self._socket_closed.set()
            if self._writer is not None:
                self._writer.close()

    async def _wait_assistant_fin(self, reader: asyncio.StreamReader) -> None:
        """After Asterisk's own close (a 0x00 or an invalid message): the assistant's FIN."""
        while self.assistant_closed_at is None:
            data = await reader.read(65536)
            if not data:
                self.assistant_closed_at = time.monotonic()
                self.events_before_assistant_closed = len(self.events)
            else:
                self.bytes_after_close += len(data)

    def _take(self, decoder: AudioSocketDecoder, data: bytes, now: float) -> bool:
        try:
            messages = decoder.feed(data)
        except AudioSocketProtocolError as exc:
            self.protocol_errors.append(str(exc))
            return False
        for message in messages:
            self._last_activity = now
            if isinstance(message, AudioMessage) and message.sample_rate == SAMPLE_RATE:
                frame = HeardFrame(message.kind, message.pcm, now)
                self.heard.append(frame)
                if frame.voiced:
                    self.voiced_bytes += len(message.pcm)
                    self.last_voiced_at = now
                    self._heard_changed.set()
            elif isinstance(message, HangupMessage):
                self.hangup_from_assistant = True
                return False
            else:
                self.protocol_errors.append(
                    f"Received AudioSocket message other than hangup or audio ({message.kind.name})"
                )
                return False
        return True

    # Caller actions --------------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        if not self.socket_open or self._writer is None or self._writer.is_closing():
            return False
        self._writer.write(data)
        self._last_activity = time.monotonic()
        return True

    async def send_audio(
        self, pcm: bytes, *, frame_bytes: int = FRAME_BYTES, realtime: bool = True
    ) -> int:
        """Stream PCM as 0x10 frames of ``frame_bytes``; returns frames actually sent."""
        frames = [pcm[i : i + frame_bytes] for i in range(0, len(pcm) - 1, frame_bytes)]
        return await self.send_frames(frames, realtime=realtime)

    async def send_wav(self, wav: bytes, *, realtime: bool = True) -> int:
        """Stream a WAV file's samples; it must already be 8 kHz mono 16-bit like slin."""
        with wave.open(io.BytesIO(wav), "rb") as reader:
            shape = (reader.getframerate(), reader.getnchannels(), reader.getsampwidth())
            if shape != (SAMPLE_RATE, 1, 2):
                raise ValueError(
                    f"WAV is {shape[0]} Hz, {shape[1]} channel(s), {8 * shape[2]}-bit; "
                    "AudioSocket carries 8000 Hz mono 16-bit"
                )
            pcm = reader.readframes(reader.getnframes())
        return await self.send_audio(pcm, realtime=realtime)

    async def send_frames(self, frames: Iterable[bytes], *, realtime: bool = True) -> int:
        """Send each payload as one 0x10 frame, paced by its own duration when realtime.

        Stops early (returning the count sent) once the socket is closed, e.g. by a
        Redirect.
        """
        sent = 0
        deadline = time.monotonic()
        self._sending += 1
        try:
            for frame in frames:
                if realtime:
                    delay = deadline - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    deadline += len(frame) / (2 * SAMPLE_RATE)
                if not self._write(encode_audio(frame)):
                    break
                sent += 1
                self.frames_sent += 1
        finally:
            self._sending -= 1
        if self._writer is not None and self.socket_open:
            with contextlib.suppress(OSError):
                await self._writer.drain()
        return sent

    def start_media(self) -> None:
        """Stream all-zero 320-byte frames every 20 ms whenever no audio is being sent, as
        a live phone's RTP does in silence (86-92 % of a recorded live caller's frames).
        Without it the caller leg sends nothing in silence, like a leg with no media."""
        if self._media is None or self._media.done():
            self._media = asyncio.get_running_loop().create_task(
                self._stream_silence(), name=f"caller media {self.call_id}"
            )

    def stop_media(self) -> None:
        """Stop the silence stream of ``start_media``."""
        if self._media is not None:
            self._media.cancel()

    async def _stream_silence(self) -> None:
        silence = encode_audio(bytes(FRAME_BYTES))
        deadline = time.monotonic()
        while self.socket_open:
            deadline += FRAME_BYTES / (2 * SAMPLE_RATE)
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                deadline = time.monotonic()
            if not self._sending and not self._media_paused and self._write(silence):
                self.frames_sent += 1

    async def silence(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (as Asterisk does on some silent paths)."""
        await asyncio.sleep(seconds)

    async def send_dtmf(self, digit: str, *, key_s: float = 0.12) -> None:
        """Press a key for ``key_s``: DTMFBegin, then at the key's end one 0x03 message and
        DTMFEnd, as a recorded Asterisk 22.10.1 sent it (about 120 ms after a 120 ms
        PlayDTMF); the silence stream pauses around the key (about 140 ms seen)."""
        message = DtmfMessage(digit)
        self._media_paused += 1
        try:
            self.simulator.emit_dtmf(self, digit, begin=True)
            if key_s > 0:
                await asyncio.sleep(key_s)
            self._write(encode(message))
            self.simulator.emit_dtmf(self, digit, begin=False)
            await asyncio.sleep(0.02)
        finally:
            self._media_paused -= 1

    def send_raw(self, data: bytes) -> bool:
        """Write raw bytes on the AudioSocket connection (for malformed-stream tests)."""
        return self._write(data)

    async def hangup(self) -> None:
        """The caller hangs up: Asterisk closes TCP (no 0x00) and reports the hangup."""
        if self.stage is CallStage.ENDED:
            return
        was_with_assistant = self.stage is CallStage.WITH_ASSISTANT
        self.stage = CallStage.ENDED
        self.close_socket()
        self.simulator.on_caller_hangup(self, with_assistant=was_with_assistant)

    # Observation -----------------------------------------------------------------------

    def received_audio(self) -> bytes:
        """All audio heard from the assistant, concatenated."""
        return b"".join(frame.payload for frame in self.heard)

    async def wait_heard(self, min_bytes: int, timeout: float) -> bytes:
        """Wait until at least ``min_bytes`` of voiced audio arrived (keep-alive silence
        does not count); return all that was received."""
        async with asyncio.timeout(timeout):
            while self.voiced_bytes < min_bytes:
                self._heard_changed.clear()
                await self._heard_changed.wait()
        return self.received_audio()

    def first_voiced_after(self, moment: float) -> float | None:
        """Arrival of the first voiced frame after ``moment`` (time.monotonic()), if any."""
        first = None
        for frame in reversed(self.heard):
            if frame.at <= moment:
                break
            if frame.voiced:
                first = frame.at
        return first

    async def wait_socket_closed(self, timeout: float) -> None:
        """Wait until the AudioSocket TCP connection is closed (by either side)."""
        async with asyncio.timeout(timeout):
            await self._socket_closed.wait()

    async def wait_assistant_closed(self, timeout: float) -> None:
        """Wait until the assistant has closed its half of AudioSocket (its FIN came)."""
        async with asyncio.timeout(timeout):
            while self.assistant_closed_at is None:
                await asyncio.sleep(0.01)

    async def wait_ended(self, timeout: float) -> None:
        """Wait until the call's channel has been hung up."""
        async with asyncio.timeout(timeout):
            await self._ended.wait()

    @property
    def ended(self) -> bool:
        """True once the channel has been hung up."""
        return self._ended.is_set()

    def mark_ended(self) -> None:
        """Record that the channel is gone (called by the simulator)."""
        self.stage = CallStage.ENDED
        self._ended.set()

    def action_names(self) -> list[str]:
        """Names of the AMI actions naming this call's channel, in order."""
        return [action.name for action in self.actions]

    async def shutdown(self) -> None:
        """Close the socket and stop background tasks (simulator teardown)."""
        self.stage = CallStage.ENDED
        self.close_socket()
        for task in (self._read_task, self._watchdog, self._media, self.department_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
