"""``python -m kefu.recsys`` (see ``kefu.recsys.cli``)."""

import sys

from kefu.recsys.cli import main

sys.exit(main())
