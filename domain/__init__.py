"""The pure core of subledger: aggregates, events, contract profiles, money and calendar.

Nothing in this package performs I/O, reads the wall clock or configures logging, so every
rule can be exercised in microseconds and replayed deterministically.
"""
