"""``python -m benchmarks.linkage``: see :mod:`benchmarks.linkage.harness`."""

import sys

from benchmarks.linkage.harness import main

sys.exit(main())
