"""The conversation as a pure state machine: events in, actions out, no I/O."""
