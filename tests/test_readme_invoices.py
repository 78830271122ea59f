"""The README's "Invoice documents (TAX-6)" section, run as written: its [tax]/[seller]
tables go into a fresh config and its command block must succeed and make the files it
names: a Factur-X PDF whose XML is the CII printed beside it, a UBL 2.1 invoice, and the
credit note's PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import facturx
from en16931_kit import passes_xsd

from infra.interface.invoicing.pdf import embedded_xml

README = Path(__file__).resolve().parents[1] / "README.md"


def section() -> tuple[str, str]:
    text = README.read_text()
    part = text[text.index("## Invoice documents (TAX-6)") :]
    part = part[: part.index("\n## ", 1)]
    toml = re.search(r"```toml\n(.*?)```", part, re.S)
    commands = re.search(
        r"<!-- invoice-examples -->\n```sh\n(.*?)```\n"
        r"<!-- /invoice-examples -->",
        part,
        re.S,
    )
    assert toml is not None and commands is not None
    return toml.group(1), commands.group(1)


def test_the_readme_invoice_commands_run_as_written(tmp_path: Path) -> None:
    toml, commands = section()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    def bash(script: str) -> str:
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout

    bash("subledger init --profile device-cloud")
    config = tmp_path / "subledger.toml"
    config.write_text(config.read_text() + "\n" + toml)
    out = bash(commands)
    assert '"number": "SL-antwerp-1"' in out and '"gross": "350.90"' in out
    pdf = (tmp_path / "SL-antwerp-1.pdf").read_bytes()
    cii = (tmp_path / "SL-antwerp-1.cii.xml").read_bytes()
    assert embedded_xml(pdf) == cii
    assert facturx.parse_ubl_cii_xml(cii)["BT-112"] == "350.90"
    assert passes_xsd((tmp_path / "SL-antwerp-1.ubl.xml").read_bytes(), "ubl", False)
    note = embedded_xml((tmp_path / "SL-antwerp-1-C1.pdf").read_bytes())
    assert note is not None and facturx.parse_ubl_cii_xml(note)["BT-112"] == "280.72"
