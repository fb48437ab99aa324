"""``python -m bench [--quick] [--only a,b]``: every scenario (``bench.all``)."""

import sys

from bench.all import main

sys.exit(main())
