"""Tools to drive the assistant from outside, as Asterisk would: end-to-end tests,
benchmarks and load tests share them (the Asterisk simulator lives in ``telephony``)."""
