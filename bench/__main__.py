"""``python -m bench`` (what ``make bench`` runs) is ``python -m bench.run``."""

import sys

from bench.run import main

sys.exit(main())
