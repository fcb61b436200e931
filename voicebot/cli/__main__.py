"""``python -m voicebot.cli``: what worker processes and test harnesses run."""

import sys

from voicebot.cli.main import main

sys.exit(main())
