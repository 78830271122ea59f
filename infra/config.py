"""The config file: database, contract profile, currency, catalog, and the tax table and
seller identity of SPEC section 9 (`subledger init`).

Errors name the file and the key. A profile is a built-in name, or a `[profiles.NAME]`
table (optionally `extends = "built-in"`, read by `profile_from_mapping`), so a fifth
contract needs no code.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from stdnum import iban as iban_numbers
from stdnum.exceptions import ValidationError

from domain.bounds import MAX_MONTHS, TEXT_LENGTHS, bounded_text
from domain.errors import Rejected, invalid
from domain.money import parse_amount
from domain.profiles import (
    BOOL_FIELDS,
    BUILT_IN_PROFILES,
    CHARGE_CLASSES,
    CREDIT_AT_CLOSURE,
    INT_FIELDS,
    OPT_DECIMAL_FIELDS,
    OPT_INT_FIELDS,
    PERIOD_FIELDS,
    RETENTION_POLICIES,
    TERM_MONTHS,
    ContractProfile,
    Period,
)
from domain.tax import TaxTable
from infra.interface.vat_ids import check_country, check_vat_id
from infra.persistence.database import (
    Database,
    DatabaseUrlError,
    parse_database_url,
    sqlite_database,
)
from infra.persistence.keystore import MasterKeyError, parse_master_key

DEFAULT_CONFIG = Path("subledger.toml")
DEFAULT_DATABASE = Path("subledger.db")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# CloudEvents `source`: a URI-reference; here an absolute URI or an absolute path
_SOURCE = re.compile(r"(?=.{1,255}$)([A-Za-z][A-Za-z0-9+.-]*:[!-~]+|/[!-~]*)")
DEFAULT_FUTURE_MARGIN_SECONDS = 300
_CATALOG_TERM = re.compile(r"(monthly|quarterly|semiannual|annual|prepaid_[1-9][0-9]{0,3})")
_INVOICE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$")
SELLER_TEXT_MAX = 500

TEMPLATE = """\
# subledger configuration. Amounts are decimal strings in the account currency.
[ledger]
database = "subledger.db"      # SQLite file; SUBLEDGER_DB overrides it
master_key_file = "subledger.key"  # wraps every customer's data key; SUBLEDGER_MASTER_KEY
                               # (base64) overrides it. Keep it apart from the database,
                               # and backed up: without it personal data cannot be read
# database_url = "postgresql://user@127.0.0.1:5432/dbname?schema=subledger"
#                               # PostgreSQL instead; SUBLEDGER_DATABASE_URL overrides it
profile = "monthly-autorenew"  # monthly-autorenew | annual-b2b | crm-retention | device-cloud
currency = "EUR"

# plan -> term -> price. Terms: monthly, quarterly, semiannual, annual, prepaid_<N>.
[catalog.basic]
monthly = "29.00"
quarterly = "75.00"
annual = "290.00"

# Kafka: where `subledger relay` publishes every event (SUBLEDGER_KAFKA_BOOTSTRAP
# overrides bootstrap_servers).
# [kafka]
# bootstrap_servers = "127.0.0.1:9092"
# topic = "subledger.events"
# partitions = 8
# collection = false            # true: `subledger consume collector` collects card
#                               # payments from the topic instead of the ledger process

# A profile of your own: start from a built-in and change what differs.
# [profiles.my-contract]
# extends = "monthly-autorenew"
# trial_days = 30
# terms = ["monthly", "annual"]

# VAT (SPEC section 9). Without [tax] every tax is 0. Catalog prices are net; rates are
# percent decimal strings. With a tax table every account needs its `country`.
# [tax]
# seller_country = "BE"
# rates = { BE = "21", NL = "21", FR = "20", DE = "19", LU = "17" }
#
# Who issues the invoices (their documents, TAX-6): name, address and vat_id are needed.
# [seller]
# name = "Example BV"
# address = "Rue de la Loi 16, 1000 Brussels, Belgium"
# vat_id = "BE0403170701"
# iban = "BE71 0961 2345 6769"  # optional: payment instructions
# invoice_prefix = "EX"          # optional: invoice numbers EX-<account>-<n>
"""

# What `init` prices each term at; a profile's catalog holds only the terms it offers.
TERM_PRICES = {
    "monthly": "29.00",
    "quarterly": "75.00",
    "semiannual": "145.00",
    "annual": "290.00",
}


def template(profile: ContractProfile) -> str:
    """The config file `init --profile` writes: TEMPLATE with the profile named and a
    catalog of only the terms that profile offers (a term it refuses, `TERM-1`, would be
    a plan nobody can subscribe to)."""
    text, count = re.subn(
        r'^profile = "[^"]*"', f'profile = "{profile.name}"', TEMPLATE, count=1, flags=re.M
    )
    assert count == 1, "TEMPLATE has no profile line"
    offered = [t for t in profile.terms if t in TERM_PRICES]
    lines = "".join(f'{t} = "{TERM_PRICES[t]}"\n' for t in offered)
    head = "# plan -> term -> price. Terms: monthly, quarterly, semiannual, annual, prepaid_<N>.\n"
    catalog = (
        f"# plan -> term -> price; {profile.name} offers {', '.join(profile.terms)}.\n"
        f"[catalog.basic]\n{lines}"
    )
    start = text.index(head)
    end = text.index("\n\n", start) + 1
    return text[:start] + catalog + text[end:]


class ConfigError(Exception):
    """A config file that cannot be used: says which file and which key."""

    def __init__(self, path: str, message: str, key: str | None = None) -> None:
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.key = key


@dataclass(frozen=True)
class Seller:
    """The invoices' issuer (TAX-6): name, address and VAT id are what a document needs;
    the IBAN (payment instructions) and the invoice number prefix are optional."""

    name: str
    address: str
    vat_id: str
    iban: str | None = None
    invoice_prefix: str | None = None


@dataclass(frozen=True)
class LedgerConfig:
    database: Path
    profile: ContractProfile
    currency: str
    catalog: dict[str, dict[str, int]]
    database_url: str | None = None  # PostgreSQL (or sqlite:///); wins over `database`
    kafka: dict[str, Any] | None = None  # [kafka]: bootstrap_servers, topic, partitions
    master_key: bytes | None = None  # wraps the data keys (infra/persistence/keystore.py)
    signing_key: bytes | None = None  # Ed25519 seed: signs chain checkpoints ([audit])
    checkpoint_every: int = 1000
    tax: TaxTable | None = None  # [tax], SPEC section 9; None: every tax is 0
    seller: Seller | None = None  # [seller]: the issuer named on invoice documents
    # how far ahead of the wall clock a command's `at` may lie (CLI and API); the CLI's
    # `--allow-future` lifts it for simulations
    future_margin_seconds: int = DEFAULT_FUTURE_MARGIN_SECONDS

    @property
    def db(self) -> Database:
        if self.database_url:
            return parse_database_url(self.database_url)
        return sqlite_database(self.database)


def parse_catalog(raw: Any, where: str = "catalog") -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict) or not raw:
        raise invalid(f"{where} must map plan -> term -> price", where)
    catalog: dict[str, dict[str, int]] = {}
    for plan, terms in raw.items():
        bounded_text(TEXT_LENGTHS["plan"])(plan, f"{where}.{plan[:40]}")  # as commands take it
        if not isinstance(terms, dict) or not terms:
            raise invalid(f"{where}.{plan} must map term -> price", f"{where}.{plan}")
        catalog[plan] = {}
        for term, price in terms.items():
            key = f"{where}.{plan}.{term}"
            if not _CATALOG_TERM.fullmatch(term) or (
                term.startswith("prepaid_") and int(term[8:12]) > MAX_MONTHS
            ):
                raise invalid(
                    f"unknown term {term!r}; terms are {list(TERM_MONTHS)} "
                    f"or prepaid_<N> (N up to {MAX_MONTHS})",
                    key,
                )
            minor = parse_amount(price, key)
            if minor < 0:
                raise invalid("a price cannot be negative", key)
            catalog[plan][term] = minor
    return catalog


def parse_margin(raw: Any, where: str = "ledger.future_margin_seconds") -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 86_400:
        raise invalid("future_margin_seconds must be a whole number of seconds, 0 to 86400", where)
    return raw


def parse_currency(raw: Any, where: str = "currency") -> str:
    if not isinstance(raw, str) or not _CURRENCY.match(raw):
        raise invalid("currency must be an ISO-4217 code such as EUR", where)
    return raw


# ------------------------------------------------------------------ profiles
def profile_from_mapping(
    data: dict[str, Any], *, base: ContractProfile | None = None, where: str = "profile"
) -> ContractProfile:
    """A profile from a config table (`[profiles.NAME]`), starting from `base` (a
    built-in) if given.

    Every key is checked: unknown keys and wrong types are `invalid_input` naming the key.
    """
    known = {f.name for f in fields(ContractProfile)}
    values: dict[str, Any] = (
        {} if base is None else {f.name: getattr(base, f.name) for f in fields(ContractProfile)}
    )
    for key, raw in data.items():
        path = f"{where}.{key}"
        if key in {"extends"}:
            continue
        if key not in known:
            raise invalid(f"unknown profile key {key!r}", path)
        values[key] = _coerce(key, raw, path)
    if "name" not in values or "terms" not in values:
        raise invalid("a profile needs at least name and terms", where)
    return ContractProfile(**values)


def _coerce(key: str, raw: Any, path: str) -> Any:  # noqa: PLR0911, PLR0912 - a branch per kind of key
    def whole(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid(f"{path} must be a whole number >= 0", path)
        return value

    if key == "name":
        if not isinstance(raw, str) or not raw:
            raise invalid(f"{path} must be a non-empty string", path)
        return raw
    if key in INT_FIELDS:
        return whole(raw)
    if key in OPT_INT_FIELDS:
        return None if raw is None else whole(raw)
    if key in BOOL_FIELDS:
        if not isinstance(raw, bool):
            raise invalid(f"{path} must be true or false", path)
        return raw
    if key in PERIOD_FIELDS or key == "inactivity":
        if raw is None and key == "inactivity":
            return None
        return _period(raw, path)
    if key in OPT_DECIMAL_FIELDS:
        if raw is None:
            return None
        if isinstance(raw, (bool, float)) or not isinstance(raw, (int, str)):
            raise invalid(f'{path} must be a decimal string such as "1.5"', path)
        return Decimal(str(raw))
    if key == "auto_renew":
        if raw not in ("always", "stored_method"):
            raise invalid(f'{path} must be "always" or "stored_method"', path)
        return raw
    if key == "retention":
        if raw not in RETENTION_POLICIES:
            raise invalid(f"{path} must be one of {list(RETENTION_POLICIES)}", path)
        return raw
    if key == "credit_at_closure":
        if raw not in CREDIT_AT_CLOSURE:
            raise invalid(f"{path} must be one of {list(CREDIT_AT_CLOSURE)}", path)
        return raw
    # the remaining keys are lists of names
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise invalid(f"{path} must be a list of strings", path)
    allowed = {
        "terms": TERM_MONTHS,
        "prorated_refund_terms": TERM_MONTHS,
        "allocation_order": CHARGE_CLASSES,
    }[key]
    bad = [x for x in raw if x not in allowed]
    if bad:
        raise invalid(f"{path} has unknown value(s) {bad}", path)
    return tuple(raw)


def _period(value: object, field: str) -> Period:
    """A period table: `{months = 6}`, `{days = 30}`, `{working_days = 15}`."""
    if not isinstance(value, dict) or not value:
        raise invalid(f"{field} must be a table like {{days = 30}}", field)
    unknown = set(value) - {"months", "days", "working_days"}
    if unknown:
        raise invalid(f"{field} has unknown key(s) {sorted(unknown)}", field)
    for key, amount in value.items():
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise invalid(f"{field}.{key} must be a whole number >= 0", f"{field}.{key}")
    return Period(**value)


def resolve_profile(name: Any, custom: dict[str, Any], where: str = "profile") -> ContractProfile:
    if not isinstance(name, str):
        raise invalid("profile must be a profile name", where)
    if name in custom:
        table = custom[name]
        if not isinstance(table, dict):
            raise invalid(f"profiles.{name} must be a table", f"profiles.{name}")
        base_name = table.get("extends")
        base = None
        if base_name is not None:
            if base_name not in BUILT_IN_PROFILES:
                raise invalid(
                    f"extends names no built-in profile: {base_name!r}", f"profiles.{name}.extends"
                )
            base = BUILT_IN_PROFILES[base_name]
        return profile_from_mapping({**table, "name": name}, base=base, where=f"profiles.{name}")
    if name not in BUILT_IN_PROFILES:
        raise invalid(f"unknown profile {name!r}; built-in: {', '.join(BUILT_IN_PROFILES)}", where)
    return BUILT_IN_PROFILES[name]


def parse_tax(raw: Any, where: str = "tax") -> TaxTable | None:
    """`[tax]` (or a scenario's `tax`): seller_country and rates, every country an
    assigned ISO 3166-1 code; absent: None, no taxes."""
    if raw is None:
        return None
    table = TaxTable.parse(raw, where)
    check_country(table.seller_country, f"{where}.seller_country")
    for country in table.rates:
        check_country(country, f"{where}.rates.{country}")
    return table


def parse_seller(raw: Any, tax: TaxTable | None, where: str = "seller") -> Seller | None:
    """`[seller]`: the VAT id is checked for the tax table's seller country (or, without a
    table, for the country its prefix names), the IBAN by its check digits."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("seller must be a table: name, address, vat_id", where)
    unknown = sorted(set(raw) - {"name", "address", "vat_id", "iban", "invoice_prefix"})
    if unknown:
        raise invalid(f"unknown key(s) {unknown}", f"{where}.{unknown[0]}")
    text: dict[str, str] = {}
    for key in ("name", "address", "vat_id"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > SELLER_TEXT_MAX:
            raise invalid(
                f"{key} must be a non-empty string (at most {SELLER_TEXT_MAX} characters)",
                f"{where}.{key}",
            )
        text[key] = value.strip()
    vat_id = text["vat_id"].upper()
    country = tax.seller_country if tax is not None else {"EL": "GR"}.get(vat_id[:2], vat_id[:2])
    if tax is None and not country.isalpha():
        raise invalid(
            "vat_id must start with its country prefix, e.g. BE0403170701", f"{where}.vat_id"
        )
    checked = check_vat_id(vat_id, check_country(country, f"{where}.vat_id"), f"{where}.vat_id")
    account = raw.get("iban")
    if account is not None:
        try:
            account = iban_numbers.format(iban_numbers.validate(str(account)))
        except ValidationError as e:
            raise invalid(f"iban {account!r} is not a valid IBAN: {e}", f"{where}.iban") from None
    prefix = raw.get("invoice_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not _INVOICE_PREFIX.match(prefix)):
        raise invalid(
            "invoice_prefix must be 1-20 letters, digits, '.', '_', '/' or '-'",
            f"{where}.invoice_prefix",
        )
    return Seller(
        name=text["name"],
        address=text["address"],
        vat_id=checked.text,
        iban=account,
        invoice_prefix=prefix,
    )


def parse_kafka(raw: Any, bootstrap: str | None) -> dict[str, Any] | None:
    """The [kafka] table; SUBLEDGER_KAFKA_BOOTSTRAP names the brokers without one."""
    table = dict(raw or {})
    if not isinstance(raw, dict | None):
        raise invalid("kafka must be a table", "kafka")
    unknown = set(table) - {"bootstrap_servers", "topic", "partitions", "source", "collection"}
    if unknown:
        raise invalid(f"unknown key(s) {sorted(unknown)}", f"kafka.{sorted(unknown)[0]}")
    if bootstrap:
        table["bootstrap_servers"] = bootstrap
    if not table:
        return None
    if not isinstance(table.get("bootstrap_servers"), str) or not table["bootstrap_servers"]:
        raise invalid(
            "bootstrap_servers must be host:port[,host:port...]", "kafka.bootstrap_servers"
        )
    if not isinstance(table.get("topic", "t"), str):
        raise invalid("topic must be a topic name", "kafka.topic")
    if "source" in table and (
        not isinstance(table["source"], str) or not _SOURCE.fullmatch(table["source"])
    ):
        raise invalid(
            "source must be a URI such as urn:subledger:billing-eu (CloudEvents "
            "`source`: an absolute URI or a /path, at most 255 characters, no "
            "spaces); leave it out to use this ledger's own id",
            "kafka.source",
        )
    if not isinstance(table.get("collection", False), bool):
        raise invalid(
            "collection must be true (a Kafka consumer collects) or false", "kafka.collection"
        )
    partitions = table.get("partitions", 8)
    if not isinstance(partitions, int) or isinstance(partitions, bool) or partitions < 1:
        raise invalid("partitions must be a whole number >= 1", "kafka.partitions")
    return table


def read_master_key(name: Any, config_path: Path) -> bytes:
    """SUBLEDGER_MASTER_KEY, else the file `master_key_file` names (relative to the
    config file). Never a default: a ledger opened with a made-up key would write data
    keys no one can open again."""
    key = "ledger.master_key_file"
    try:
        text = os.environ.get("SUBLEDGER_MASTER_KEY")
        if text:
            return parse_master_key(text, "SUBLEDGER_MASTER_KEY")
        if name is None:
            raise invalid(
                "no master key: set master_key_file (`subledger init` writes one) "
                "or SUBLEDGER_MASTER_KEY",
                key,
            )
        if not isinstance(name, str):
            raise invalid("master_key_file must be a file path", key)
        file = Path(name) if Path(name).is_absolute() else config_path.parent / name
        try:
            return parse_master_key(file.read_text(), str(file))
        except OSError as e:
            raise invalid(
                f"cannot read the master key file {file}: {e.strerror or e}; "
                "without it no personal data can be opened",
                key,
            ) from None
        except UnicodeDecodeError:
            raise invalid(
                f"the master key file {file} is not text: it holds the key in "
                "base64 (`subledger init` writes one)",
                key,
            ) from None
    except MasterKeyError as e:
        raise invalid(str(e), key) from None


def read_audit(table: Any, config_path: Path) -> dict[str, Any]:
    """[audit]: `signing_key_file` (an Ed25519 seed, base64; SUBLEDGER_SIGNING_KEY
    overrides it) and `checkpoint_every` (events between signed checkpoints)."""
    if not isinstance(table, dict):
        raise invalid("audit must be a table", "audit")
    unknown = set(table) - {"signing_key_file", "checkpoint_every"}
    if unknown:
        raise invalid(f"unknown key(s) {sorted(unknown)}", f"audit.{sorted(unknown)[0]}")
    every = table.get("checkpoint_every", 1000)
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise invalid("checkpoint_every must be a whole number >= 1", "audit.checkpoint_every")
    text = os.environ.get("SUBLEDGER_SIGNING_KEY")
    name = table.get("signing_key_file")
    if not text and name is not None:
        file = Path(name) if Path(name).is_absolute() else config_path.parent / name
        try:
            text = file.read_text()
        except OSError as e:
            raise invalid(
                f"cannot read the signing key file {file}: {e.strerror or e}",
                "audit.signing_key_file",
            ) from None
        except UnicodeDecodeError:
            raise invalid(
                f"the signing key file {file} is not text (base64)", "audit.signing_key_file"
            ) from None
    if not text:
        return {"checkpoint_every": every}
    try:
        seed = parse_master_key(text, "audit.signing_key_file", "signing key")
    except MasterKeyError as e:
        raise invalid(str(e), "audit.signing_key_file") from None
    return {"signing_key": seed, "checkpoint_every": every}


def load_config(path: Path | None = None) -> LedgerConfig:
    """Read the config file (SUBLEDGER_CONFIG, else ./subledger.toml)."""
    path = path or Path(os.environ.get("SUBLEDGER_CONFIG", DEFAULT_CONFIG))
    if not path.exists():
        raise ConfigError(str(path), "no config file; `subledger init` writes one")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), f"not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not a text file (TOML is UTF-8 text)") from None
    except OSError as e:  # a folder, no permission, ...
        raise ConfigError(str(path), f"cannot be read: {e.strerror or e}") from None
    try:
        unknown = set(data) - {"ledger", "catalog", "profiles", "kafka", "audit", "tax", "seller"}
        if unknown:
            raise invalid(f"unknown section(s) {sorted(unknown)}", sorted(unknown)[0])
        ledger = data.get("ledger", {})
        unknown = set(ledger) - {
            "database",
            "database_url",
            "profile",
            "currency",
            "master_key_file",
            "future_margin_seconds",
        }
        if unknown:
            raise invalid(f"unknown key(s) {sorted(unknown)}", f"ledger.{sorted(unknown)[0]}")
        database = os.environ.get("SUBLEDGER_DB") or ledger.get("database", str(DEFAULT_DATABASE))
        if not isinstance(database, str):
            raise invalid("database must be a file path", "ledger.database")
        db_path = Path(database)
        if not db_path.is_absolute():
            db_path = path.parent / db_path
        url = os.environ.get("SUBLEDGER_DATABASE_URL") or ledger.get("database_url")
        if url is not None:
            if not isinstance(url, str):
                raise invalid("database_url must be a URL string", "ledger.database_url")
            try:
                parse_database_url(url)
            except DatabaseUrlError as e:
                raise invalid(str(e), "ledger.database_url") from None
        kafka = parse_kafka(data.get("kafka"), os.environ.get("SUBLEDGER_KAFKA_BOOTSTRAP"))
        tax = parse_tax(data.get("tax"))
        return LedgerConfig(
            tax=tax,
            seller=parse_seller(data.get("seller"), tax),
            database=db_path,
            database_url=url or None,
            kafka=kafka,
            profile=resolve_profile(
                ledger.get("profile", "monthly-autorenew"),
                data.get("profiles", {}),
                "ledger.profile",
            ),
            currency=parse_currency(ledger.get("currency", "EUR"), "ledger.currency"),
            catalog=parse_catalog(data.get("catalog"), "catalog"),
            future_margin_seconds=parse_margin(
                ledger.get("future_margin_seconds", DEFAULT_FUTURE_MARGIN_SECONDS)
            ),
            # last: the file's other mistakes are reported first
            master_key=read_master_key(ledger.get("master_key_file"), path),
            **read_audit(data.get("audit", {}), path),
        )
    except Rejected as e:
        raise ConfigError(str(path), e.message, e.field) from None
