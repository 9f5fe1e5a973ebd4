"""`python -m kefu.evals` is `kefu eval` (see kefu.evals.cli)."""

from kefu.evals.cli import main

main()
