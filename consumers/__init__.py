"""Processes that react to stored events: payment collection, privacy keeping, the scheduler.

Each is idempotent: a redelivered event changes nothing, because the commands it issues
are keyed by a reference the ledger books once, and its own effects are tracked.
"""
