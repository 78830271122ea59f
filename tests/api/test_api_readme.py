"""The README's HTTP API section, run as written: its setup lines start a real server
and its curl examples must all succeed and show what the comments beside them say."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section_blocks() -> tuple[str, str]:
    """The setup block (the section's first) and the marked block of curl examples."""
    text = README.read_text()
    section = text[text.index("## HTTP API") :]
    section = section[: section.index("\n## ", 1)]
    setup = re.search(r"```sh\n(.*?)```", section, re.S)
    examples = re.search(
        r"<!-- api-examples -->\n```sh\n(.*?)```\n<!-- /api-examples -->", section, re.S
    )
    assert setup is not None and examples is not None
    return setup.group(1), examples.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readme_curl_examples_run_against_a_real_server(tmp_path: Path) -> None:
    setup, examples = section_blocks()
    assert "subledger serve --port 8080 &" in setup and "curl" in examples
    setup = setup.replace("8080", str(free_port()))
    script = "\n".join(
        [
            "set -euo pipefail",
            "trap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT",
            setup,
            'for _ in $(seq 1 300); do curl -fs "$API/health" >/dev/null && break; sleep 0.1; done',
            examples,
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    out = done.stdout
    assert '"command":"register_account","account":"alice"' in out
    assert out.count('"command":"record_payment","account":"alice"') == 3
    assert (
        out.count('"recorded":true') == 5 and out.count('"recorded":false') == 1
    )  # register, subscribe, pay, its replay, erase
    assert re.search(r"^idempotent-replayed: true\r?$", out, re.M | re.I)
    assert re.search(r"(^|})422$", out, re.M)  # curl -w after a body without newline
    assert '"balanced":true' in out and '"report":"mrr"' in out
    assert '"email":"alice@example.com"' in out  # the export, before the erasure
    assert '"code":"unknown_account"' in out
    assert "slk_" not in done.stderr  # the server's logs never show the key
