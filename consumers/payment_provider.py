"""The simulated payment provider of scenarios and demos (the port is
`consumers.ports.PaymentProvider`, TERM-3).

The provider is outside the product, so this is the one place a stand-in is legitimate:
the scenario format's `psp` step sets its answer per account.
"""

from __future__ import annotations


class SimulatedPaymentProvider:
    """Approves every collection unless told to decline for an account."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.charges: list[tuple[str, str, int]] = []

    def set_outcome(self, account: str, outcome: str) -> None:
        if outcome not in ("approve", "decline"):
            raise ValueError(outcome)
        self.outcomes[account] = outcome

    def collect(
        self, *, account: str, reference: str, amount_minor: int, currency: str, method: str
    ) -> bool:
        approved = self.outcomes.get(account, "approve") == "approve"
        if approved:
            self.charges.append((account, reference, amount_minor))
        return approved
