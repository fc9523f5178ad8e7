"""The composition root: the `csagent` command, the demo and the wiring of every layer."""
