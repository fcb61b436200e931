"""A call session wiring audio, recognition, dialog, synthesis and logging together."""
