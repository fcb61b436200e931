"""Telephony: AudioSocket media server, AMI connector, Asterisk simulator.

* ``audiosocket_codec`` / ``ami_codec`` -- pure wire codecs (no sockets).
* ``audiosocket`` -- ``AudioSocketServer`` handing one ``AudioSocketConnection`` per call
  to a handler; ``playout`` paces outbound audio on a 20 ms grid.
* ``ami`` -- ``AmiClient``: login, events, keep-alive, reconnect, actions;
  ``channels`` -- ``ChannelDirectory`` mapping AudioSocket UUIDs to channels.
* ``simulator`` -- ``AsteriskSimulator`` and ``SimulatedCall`` for tests, demo and load.
"""
