"""Wiring: persistence, transcoding, key store, logging, configuration and the CLI.

The only package that knows which database (and, later, which broker) is used.
"""
