"""Country codes and VAT ids as customers give them (SPEC `TAX-2`), checked with the
maintained libraries made for it: `pycountry` (ISO 3166-1) and `python-stdnum`
(`stdnum.eu.vat` for the EU member states, VIES-style with their prefix; for every other
country the VAT module stdnum has for it, `stdnum.get_cc_module(cc, "vat")`: Swiss MWST,
British, Norwegian MVA ids and some seventy more).

The application layer checks them before the domain sees anything: the domain is pure and
never sees a VAT id at all (it is sealed in the invoice identity, `GDPR-3`); it is told in
clear only the country and whether a VAT id validated for that country is held, which is
all that decides the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pycountry
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from domain.errors import invalid

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

# VAT prefixes that are not the country's ISO code (VIES writes Greece as EL)
_PREFIX_COUNTRY = {"EL": "GR"}
_COUNTRY_PREFIX = {"GR": "EL"}
# the ISO countries whose VAT ids stdnum.eu.vat checks (its `xi`, Northern Ireland, is
# not an ISO 3166-1 country: GB ids go through stdnum.gb.vat)
EU_CHECKABLE = frozenset(code.upper() for code in eu_vat.MEMBER_STATES if code != "xi")


def _national_module(country: str) -> NumberValidationModule | None:
    """stdnum's VAT module for a country outside the EU list, or None when it has none
    (then the id is kept as given: TAX-2 "a country that library cannot check")."""
    if len(country) != 2 or not country.isalpha():
        return None
    return get_cc_module(country.lower(), "vat")


def check_country(code: str, field: str = "country") -> str:
    """An assigned ISO 3166-1 alpha-2 code ("UK" is not one: Great Britain is "GB")."""
    if pycountry.countries.get(alpha_2=code) is None:
        raise invalid(f"{field} {code!r} is not an ISO 3166-1 alpha-2 country code", field)
    return code


@dataclass(frozen=True, slots=True)
class VatId:
    text: str  # as kept in the invoice identity
    verified: bool  # validated for the account's country: plays its part in TAX-2 (b)


def check_vat_id(given: str, country: str, field: str = "vat_id") -> VatId:
    """TAX-2: valid for `country` (its prefix, length and check digits), kept in the
    compact form with its prefix ("BE0403170701"); an id without a prefix gets the
    country's. For a country stdnum cannot check, kept as given (trimmed, upper-cased)
    and unverified: it plays no part in the rate."""
    text = given.strip().upper()
    if country not in EU_CHECKABLE:
        return _check_national(text, country, field)
    shown = text
    if not text[:2].isalpha():  # no prefix: the account's country's
        text = _COUNTRY_PREFIX.get(country, country) + text
    try:
        compact = eu_vat.validate(eu_vat.compact(text))
    except ValidationError as e:
        raise invalid(f"{field} {shown!r} is not a valid VAT id: {e}", field) from None
    prefix = compact[:2]
    if _PREFIX_COUNTRY.get(prefix, prefix) != country:
        raise invalid(
            f"{field} {shown!r} is a VAT id of {prefix}, not of the account's country {country}",
            field,
        )
    if prefix == "GR":
        compact = "EL" + compact[2:]
    return VatId(compact, verified=True)


def _check_national(text: str, country: str, field: str) -> VatId:
    """A non-EU VAT id, validated by the country's own stdnum module; kept in the
    module's compact form, with the country's code in front where that form drops it
    (British "980780684" is kept "GB980780684"), so the kept id says its country."""
    module = _national_module(country)
    if module is None:
        return VatId(text, verified=False)
    try:
        compact = module.validate(text)
    except Exception as e:  # stdnum raises ValidationError, and a few modules others
        reason = e if isinstance(e, ValidationError) else "not in the country's format"
        message = f"{field} {text!r} is not a valid VAT id of {country}: {reason}"
        raise invalid(message, field) from None
    if not compact[:2].isalpha():
        compact = country + compact
    return VatId(compact, verified=True)
