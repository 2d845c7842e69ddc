"""``python -m benchmarks.independent``: see :mod:`benchmarks.independent.harness`."""

import sys

from benchmarks.independent.harness import main

sys.exit(main())
