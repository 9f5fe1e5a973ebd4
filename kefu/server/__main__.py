"""`python -m kefu.server [OPTIONS]`: the same as `kefu serve`."""

from kefu.server.cli import main

main()
