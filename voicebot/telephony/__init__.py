"""Telephony: AudioSocket media server, AMI connector, Asterisk simulator."""
