"""``python -m benchmarks.scale_linkage``: see :mod:`benchmarks.scale_linkage.harness`."""

import sys

from benchmarks.scale_linkage.harness import main

sys.exit(main())
