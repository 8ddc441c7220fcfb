"""`python -m orchestrator.cli`: the same as the `aidevops` command."""

from orchestrator.cli import main

main()
