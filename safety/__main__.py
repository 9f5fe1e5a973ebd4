"""``python -m kefu.safety`` (see ``kefu.safety.cli``)."""

import sys

from kefu.safety.cli import main

sys.exit(main())
