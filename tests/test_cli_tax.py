"""SPEC section 9 from the command line: `[tax]` and `[seller]` in the config file,
`--country` / `--vat-id` on the account commands, and `report vat --month --csv`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from backends import Backend
from cli_kit import T0, configure, isolated, run  # noqa: F401 - isolated is a fixture

from infra.config import ConfigError, Seller, load_config

pytestmark = pytest.mark.usefixtures("isolated")

TAX = """
[tax]
seller_country = "BE"
rates = { BE = "21", NL = "21", FR = "5.50" }

[seller]
name = "Example BV"
address = "Rue de la Loi 16, 1000 Brussels"
vat_id = "be 0403.170.701"
iban = "BE71096123456769"
invoice_prefix = "EX"
"""


@pytest.fixture
def config(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    path = tmp_path / "subledger.toml"
    configure(capsys, monkeypatch, backend, path, init=True)
    path.write_text(path.read_text() + TAX)
    return str(path)


def cli(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "--config", config, *argv)


def test_tax_and_seller_tables_are_read(config: str) -> None:
    loaded = load_config(Path(config))
    assert loaded.tax is not None and loaded.tax.as_dict() == {
        "seller_country": "BE",
        "rates": {"BE": "21", "FR": "5.5", "NL": "21"},
    }
    assert loaded.seller == Seller(
        name="Example BV",
        address="Rue de la Loi 16, 1000 Brussels",
        vat_id="BE0403170701",
        iban="BE71 0961 2345 6769",
        invoice_prefix="EX",
    )


def test_register_with_country_and_vat_id_then_report_vat_csv(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    """TAX-2 options on the CLI; TAX-5 `report vat` as CSV, amounts in minor units, the
    reverse-charge line naming the customer's VAT id."""
    assert (
        cli(
            capsys,
            config,
            "register-account",
            "antwerp",
            "--name",
            "Antwerp NV",
            "--email",
            "ap@antwerp.test",
            "--country",
            "BE",
            "--at",
            T0,
        )[0]
        == 0
    )
    code, _, err = cli(
        capsys,
        config,
        "register-account",
        "delft",
        "--name",
        "Delft BV",
        "--email",
        "ap@delft.test",
        "--country",
        "NL",
        "--vat-id",
        "NL 0044.95.445.B01",
        "--at",
        T0,
    )
    assert code == 0, err
    for ref in ("antwerp", "delft"):
        assert (
            cli(
                capsys,
                config,
                "subscribe",
                ref,
                "--plan",
                "basic",
                "--term",
                "annual",
                "--payment-method",
                "bank_transfer",
                "--at",
                T0,
            )[0]
            == 0
        )
    code, out, _ = cli(capsys, config, "--json", "status", "antwerp", "--at", T0)
    assert json.loads(out)["invoices"][0] | {"issued_at": None, "due_at": None} == {
        "n": 1,
        "issued_at": None,
        "due_at": None,
        "amount": "350.90",
        "paid": "0.00",
        "status": "open",
        "net": "290.00",
        "tax": "60.90",
        "tax_rate": "21",
        "tax_category": "S",
        "kind": "term",
    }
    code, out, err = cli(
        capsys,
        config,
        "report",
        "vat",
        "--month",
        "2026-01",
        "--csv",
        "--at",
        "2026-02-01T00:00:00Z",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "month,country,category,rate,invoices,credit_notes,net,tax,vat_ids",
        "2026-01,BE,S,21,1,0,290.00,60.90,",
        "2026-01,NL,AE,0,1,0,290.00,0.00,NL004495445B01",
    ]
    code, out, _ = cli(
        capsys,
        config,
        "--json",
        "report",
        "vat",
        "--month",
        "2026-01",
        "--at",
        "2026-02-01T00:00:00Z",
    )
    assert json.loads(out)["rows"][1]["vat_ids"] == ["NL004495445B01"]


def test_a_bad_vat_id_or_a_missing_country_is_refused(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, err = cli(
        capsys,
        config,
        "register-account",
        "x",
        "--name",
        "X",
        "--email",
        "x@x.test",
        "--country",
        "NL",
        "--vat-id",
        "NL004495446B01",
        "--at",
        T0,
    )
    assert (code, out) == (2, "") and err.startswith("error: invalid_input:") and "vat_id" in err
    code, out, _ = cli(
        capsys,
        config,
        "--json",
        "register-account",
        "x",
        "--name",
        "X",
        "--email",
        "x@x.test",
        "--at",
        T0,
    )
    assert code == 2 and json.loads(out)["error"] == "invalid_input"
    assert "country" in json.loads(out)["message"]
    code, out, _ = cli(capsys, config, "--json", "status", "x", "--at", T0)
    assert code == 2 and json.loads(out)["error"] == "unknown_account"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[tax]\nseller_country = "BE"\nrates = { BE = 21.0 }\n', "tax.rates.BE"),
        ('[tax]\nseller_country = "BE"\nrates = { BE = "21", UK = "20" }\n', "tax.rates.UK"),
        ('[tax]\nseller_country = "XX"\nrates = { XX = "21" }\n', "tax.seller_country"),
        ('[tax]\nseller_country = "BE"\nrates = { NL = "21" }\n', "tax.rates"),
        ('[tax]\nseller = "BE"\n', "tax.seller"),
        ('[seller]\nname = "S"\naddress = "A"\nvat_id = "BE0403170702"\n', "seller.vat_id"),
        ('[seller]\nname = "S"\naddress = "A"\nvat_id = "0403170701"\n', "seller.vat_id"),
        ('[seller]\nname = "S"\nvat_id = "BE0403170701"\n', "seller.address"),
        (
            '[seller]\nname = "S"\naddress = "A"\nvat_id = "BE0403170701"\niban = "BE71096123456760"\n',
            "seller.iban",
        ),
        (
            '[seller]\nname = "S"\naddress = "A"\nvat_id = "BE0403170701"\ninvoice_prefix = "a b"\n',
            "seller.invoice_prefix",
        ),
        (
            '[seller]\nname = "S"\naddress = "A"\nvat_id = "BE0403170701"\nphone = "1"\n',
            "seller.phone",
        ),
    ],
)
def test_tax_config_errors_name_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    path = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(path))[0] == 0
    path.write_text(path.read_text() + "\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key, str(caught.value)
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_the_commented_tax_example_of_init_is_a_valid_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`subledger init` shows [tax] and [seller] commented out; uncommented they load."""
    path = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(path))[0] == 0
    assert load_config(path).tax is None  # no table unless asked: sections 0-8 unchanged
    lines = path.read_text().splitlines()
    start = lines.index("# [tax]")
    example = [line[2:] for line in lines[start:] if re.match(r"^# (\[|\w+ = )", line)]
    path.write_text("\n".join(lines[:start] + example) + "\n")
    loaded = load_config(path)
    assert loaded.tax is not None and loaded.tax.seller_country == "BE"
    assert loaded.seller is not None and loaded.seller.vat_id == "BE0403170701"
