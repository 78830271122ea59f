"""Thin translators from the outside to the application: the command line and the
HTTP API."""
