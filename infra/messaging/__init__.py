"""Adapters to the outside that carry events and notices: the Kafka relay and its
CloudEvents envelope, the relay's single-instance lock, SMTP."""
