"""The service layer: command handlers (an explicit registry), the `Ledger` that
executes, settles and answers, the scheduler and the follower, and `bootstrap`, the
one composition root."""
