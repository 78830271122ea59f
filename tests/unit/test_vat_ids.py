"""TAX-2: VAT ids are checked for the account's country by python-stdnum, at the door.

Whatever a client sends as a VAT id is either accepted in its compact form or refused
`invalid_input` naming `vat_id`: never an exception of the library (schemathesis found
`"00000000"` for PL answering 500, because stdnum's `compact` raised before `validate`).
"""

from __future__ import annotations

import pytest

from domain.errors import ErrorCode, Rejected
from infra.interface.vat_ids import check_vat_id

ACCEPTED = [  # given, country, kept as, verified
    ("BE0403170701", "BE", "BE0403170701", True),
    ("0403170701", "BE", "BE0403170701", True),  # no prefix: the country's
    ("be 0403.170.701", "BE", "BE0403170701", True),
    ("8567346215", "PL", "PL8567346215", True),
    ("EL094259216", "GR", "EL094259216", True),  # Greece is EL on VAT ids
    ("che-116.281.710 mwst", "CH", "CHE116281710MWST", True),  # stdnum.ch.vat
    ("GB 980 7806 84", "GB", "GB980780684", True),  # stdnum.gb.vat: the prefix kept
    ("NO 995 525 828 MVA", "NO", "NO995525828MVA", True),  # stdnum.no.mva
    (" 12-3456789 ", "US", "12-3456789", False),  # stdnum has no US VAT: kept as given
]

REFUSED = [  # given, country
    ("00000000", "PL"),  # too short once prefixed
    ("XX123", "BE"),  # no such prefix
    ("BE0403170701", "NL"),  # valid, but another country's
    ("BE0403170702", "BE"),  # check digits
    ("", "BE"),
    ("-", "FR"),
    ("\n", "PL"),
    ("CHE-123.456.788", "CH"),  # Swiss: length
    ("GB123456789", "GB"),  # British: check digits
    ("NO995525828MVA", "CH"),  # a Norwegian id for a Swiss account
    ("\x00", "NO"),
]


@pytest.mark.parametrize(("given", "country", "kept", "verified"), ACCEPTED)
def test_tax_2_a_valid_vat_id_is_kept_compact(
    given: str, country: str, kept: str, verified: bool
) -> None:
    vat = check_vat_id(given, country)
    assert (vat.text, vat.verified) == (kept, verified)


@pytest.mark.parametrize(("given", "country"), REFUSED)
def test_tax_2_an_invalid_vat_id_is_invalid_input_naming_vat_id(given: str, country: str) -> None:
    with pytest.raises(Rejected) as refused:
        check_vat_id(given, country)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "vat_id"
