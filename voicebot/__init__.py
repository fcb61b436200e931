"""voicebot: an open-source voice switchboard assistant for city halls."""

__version__ = "0.1.0"
