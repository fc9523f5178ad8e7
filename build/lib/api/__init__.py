"""The surfaces people and systems use: the FastAPI app and the `csagent` command line."""
