"""``voicebot kb check`` and ``kb suggest``: what a city's editor runs after each change."""
