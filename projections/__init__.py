"""Read models built only from stored events, each with its own tracking position.

Every projection is a deterministic fold, rebuildable from position 0 and answerable as of
an earlier position by folding fewer events through the same code.
"""
