"""Tools to drive the assistant from outside, as Asterisk would: end-to-end tests,
benchmarks and load tests share them (the Asterisk simulator itself ships in
``voicebot.telephony.simulator`` because ``voicebot demo`` uses it). Test-only: never
imported by the ``voicebot`` package."""
