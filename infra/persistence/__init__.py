"""Everything that knows SQL or the event tables: the recorders and their extras
(deadlines, keys, the request mark), the transcoder, the hash chain, the key store,
the HTTP API's key and idempotency stores, the schedule index."""
