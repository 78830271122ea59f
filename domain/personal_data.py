"""GDPR-1/2, GDPR-5, ACCOUNT-1: what it means for the commands that a customer's personal
data is gone, in one place.

Erased (GDPR-1, GDPR-2 `erase_*`) and anonymised (`soft_delete_then_anonymise`) contact
data can never be read or changed again: its key is destroyed (GDPR-5). A change of
personal data is then refused, the same way wherever it is noticed (the aggregate's
state, `Account.personal_data_gone`, or the key store finding no key).
"""

from __future__ import annotations

from domain.errors import Rejected, invalid


def personal_data_erased() -> Rejected:
    """The refusal of a change to personal data that is gone (`invalid_input`)."""
    return invalid("this account's personal data was erased", "account")
