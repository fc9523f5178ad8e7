"""`python -m cli`: the same as the `csagent` command."""

from cli.main import main

main()
