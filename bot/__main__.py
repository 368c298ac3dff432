"""python -m bot == presales-bot"""

import sys

from bot.cli import main

sys.exit(main())
