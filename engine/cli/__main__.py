"""`python -m engine.cli`: the same as the `parcours` command."""

from engine.cli.app import main

main()
