"""``python -m fastsplit.cli``: the ``fastsplit`` command."""

import sys

from . import main

sys.exit(main())
