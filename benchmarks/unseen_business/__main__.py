"""``python -m benchmarks.unseen_business``: see :mod:`benchmarks.unseen_business.generate`."""

import sys

from benchmarks.unseen_business.generate import main

sys.exit(main())
