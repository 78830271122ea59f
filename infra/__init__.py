"""Everything that touches the outside world, in sub-packages by role (ARCHITECTURE.md).

Each imports only the ones below it (`tests/test_architecture.py` checks it):
`logging` <- `interface` <- `persistence` <- `config` <- `application` <- `messaging` <-
`tools` <- `entrypoints`. `application/bootstrap.py` is the composition root, the only
module that knows every layer.
"""
