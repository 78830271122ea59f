"""The HTTP API (`subledger serve`): the CLI's commands and queries over HTTP."""
