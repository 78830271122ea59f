"""Issue 13, "What to build" 6: a property test of the whole edge, on both stores.

Hypothesis drives random and hostile input (texts with NUL, control characters and
unpaired surrogates, ids with `/` and `..`, amounts past int64 or in other scripts'
digits, instants in year 9999 or without a zone, whole numbers past 2^63, JSON nested
hundreds deep, unknown fields and query parameters) through a running `subledger serve`
and, on the same database, through the command line. The properties: no answer is a
5xx and no command ends in a traceback (exit 0 or 2 only); and after the run the ledger
still takes a normal command, nothing is halted (`db check` exits 0) and `verify`
passes. The examples are derandomised and few: the suite's time is shared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from api_kit import Installation, Server, day, subledger
from backends import Backend, require_postgres
from cli_kit import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.entrypoints.http.app import COMMANDS
from infra.interface.vocabulary import VOCABULARY

HTTP_EXAMPLES, CLI_EXAMPLES = 100, 50
SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}
NOW = datetime.now(UTC).replace(microsecond=0)

CONTROL = st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\ud800", "\n", "\t"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "acme",
            "acme-1",
            "a/b",
            "..",
            "a..b",
            "%00",
            "x" * 3000,
            " ",
            "\u0663\u0660",
            "\uff11",
            "-rf",
            "a b",
            "é",
            "a@b.c",
            "z" * 129,
        ]
    ),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=4), CONTROL, st.text(max_size=4)),
)
AMOUNT = st.one_of(
    st.decimals(
        min_value=-(10**20), max_value=10**20, places=2, allow_nan=False, allow_infinity=False
    ).map(str),
    st.integers(-(2**80), 2**80),
    st.sampled_from(
        [
            "92233720368547758.08",
            "100000000000000000.00",
            "9999999999.99",
            "10000000000.00",
            "\u0663\u0660.00",
            "1e3",
            "NaN",
            "12,50",
            "29.00",
            "-5.00",
            "0",
            12.5,
            True,
            None,
            [],
            {},
        ]
    ),
)
INSTANT = st.one_of(
    st.integers(-420, 1).map(lambda d: (NOW + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.sampled_from(
        [
            "9999-12-31T23:59:59Z",
            "2126-01-05T09:00:00Z",
            "2026-13-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01",
            "yesterday",
            "\u0662\u0660\u0662\u0666-01-01T00:00:00Z",
            12,
            None,
        ]
    ),
)
WHOLE = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from(["12", "\u0661\u0662", 1.5, None, True, 2**63, 2**64]),
)
MONTH = st.one_of(
    st.sampled_from(
        ["2026-01", "2026-13", "9999-12", "0000-01", "26-1", "\u0662\u0660\u0662\u0666-01"]
    ),
    TEXT,
)


def q(text: object) -> str:
    """Percent-encoded as a client would send it; an unpaired surrogate goes as the bytes
    Python would make of it (invalid UTF-8): the server must cope with those too."""
    return quote(str(text), safe="", errors="surrogatepass")


VALID: dict[str, st.SearchStrategy[Any]] = {
    "account": st.sampled_from(["acme", "acme", "b2"]),
    "name": st.sampled_from(["Ann Example", "Acme BV"]),
    "email": st.sampled_from(["ann@example.com", "ap@acme.test"]),
    "phone": st.just("+31 20 123 4567"),
    "address": st.just("1 Main St\n1000 AA Town"),
    "plan": st.just("basic"),
    "reason": st.just("the amount is wrong"),
    "reference": st.uuids().map(str),
    "channel": st.sampled_from(["email", "mail"]),
    "term": st.sampled_from(["monthly", "annual", "prepaid_12"]),
    "payment_method": st.sampled_from(["card", "bank_transfer", "invoice"]),
    "birth_date": st.sampled_from(["1990-01-01", "2026-01-05"]),
    "amount": st.sampled_from(["29.00", "0.01", "9999999999.99", "-5.00"]),
    "months": st.integers(1, 13),
    "invoice": st.integers(1, 3),
    "discount_percent": st.sampled_from(["20", "12.5", 100]),
    "at": st.none(),  # now: timed by the ledger
    "effective_at": st.integers(40, 400).map(
        lambda d: (NOW + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
}
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "amount": AMOUNT,
    "new_price": AMOUNT,
    "at": INSTANT,
    "effective_at": INSTANT,
    "months": st.one_of(WHOLE, AMOUNT),
    "invoice": WHOLE,
    "discount_percent": st.one_of(WHOLE, AMOUNT),
    "birth_date": st.one_of(st.sampled_from(["9999-12-31", "0001-01-01", "1990-02-30"]), TEXT),
}


def field_value(field: str) -> st.SearchStrategy[Any]:
    """Mostly plausible, often hostile: the rules are reached, not only the parsers."""
    valid = VALID.get(field, TEXT)
    return st.one_of(valid, valid, valid, HOSTILE.get(field, TEXT))


def new_account() -> st.SearchStrategy[str]:
    return st.one_of(st.from_regex(r"[a-z][a-z0-9.-]{0,10}", fullmatch=True), TEXT)


@st.composite
def command_request(draw: st.DrawFn) -> tuple[str, str, Any]:
    route = draw(st.sampled_from(COMMANDS))
    spec = {f.name: f for f in route.fields}
    path = route.path
    if "{account}" in path:
        path = path.replace("{account}", q(draw(field_value("account"))))
    if "{invoice}" in path:
        path = path.replace("{invoice}", q(draw(WHOLE)))
    fields = [f for f in [*spec, "at"] if f not in route.path_fields]
    required = [f for f, field in spec.items() if field.required and f in fields]
    optional = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    dropped = draw(st.sampled_from([None] * 5 + required)) if required else None
    chosen = [f for f in fields if (f in optional or f in required) and f != dropped]
    body: dict[str, Any] = {
        f: draw(
            new_account() if route.do == "register_account" and f == "account" else field_value(f)
        )
        for f in chosen
    }
    shape = draw(st.sampled_from(["fields"] * 8 + ["unknown field", "nested", "bytes"]))
    if shape == "unknown field":
        body[draw(TEXT)] = draw(TEXT)
    elif shape == "nested":  # past what orjson can write back: was a 500
        depth = draw(st.integers(1, 400))
        return "POST", path, (b'{"at": ' + b"[" * depth + b"]" * depth + b"}")
    elif shape == "bytes":  # not JSON, or not UTF-8
        return "POST", path, draw(st.binary(max_size=64))
    return "POST", path, body


QUERIES = {  # path (with {a} for an account) -> the parameters it takes
    "/accounts/{a}": ("as_of", "position"),
    "/accounts/{a}/events": (),
    "/accounts/{a}/history": (),
    "/accounts/{a}/invoices": ("as_of",),
    "/accounts/{a}/personal-data": ("at",),
    "/journal": ("account", "as_of", "position"),
    "/privacy/report": ("at",),
    "/reports/mrr": ("at", "month"),
    "/reports/churn": ("at", "month"),
    "/reports/revenue": ("at", "month"),
    "/reports/ageing": ("at",),
    "/reports/{a}": ("at",),
}
QUERY_VALUES = {
    "month": MONTH,
    "position": WHOLE,
    "as_of": INSTANT,
    "at": INSTANT,
    "account": st.one_of(st.just("acme"), TEXT),
}


@st.composite
def query_request(draw: st.DrawFn) -> tuple[str, str, Any]:
    template = draw(st.sampled_from(sorted(QUERIES)))
    path = template.replace("{a}", q(draw(field_value("account"))))
    known = QUERIES[template]
    names = (
        draw(st.lists(st.sampled_from([*known, *known, "asof"]), unique=True, max_size=3))
        if known
        else draw(st.lists(st.just("x"), max_size=1))
    )
    params = [f"{n}={q(draw(QUERY_VALUES.get(n, TEXT)))}" for n in names]
    return "GET", path + ("?" + "&".join(params) if params else ""), None


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def edge(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Installation, Server, str]]:
    if request.param == "postgres":
        require_postgres()
    root = tmp_path_factory.mktemp("edge")
    backend = Backend(request.param, Path(root))
    request.addfinalizer(backend.cleanup)
    installation = Installation(Path(root) / "ledger", backend, profile="annual-b2b")
    key = installation.key("read", "write", "privacy")
    server = Server(installation, log_level="warning").start()
    with server.client(key) as api:
        assert (
            api.post(
                "/accounts",
                json={"account": "acme", "name": "Acme", "email": "ap@acme.test", "at": day(0)},
            ).status_code
            == 201
        )
        assert (
            api.post(
                "/accounts/acme/subscription",
                json={
                    "plan": "basic",
                    "term": "annual",
                    "payment_method": "bank_transfer",
                    "at": day(0),
                },
            ).status_code
            == 200
        )
    yield installation, server, key
    # afterwards: whatever was sent, the ledger takes a normal command and is whole
    with server.client(key) as api:
        assert api.post("/accounts/acme/activity").status_code == 200
        assert api.get("/health").json()["status"] == "ok"
    for check in (("db", "check"), ("verify",)):
        done = subledger(*check, cwd=installation.root, env=installation.env)
        assert done.returncode == 0, (check, done.stdout, done.stderr)
    assert server.stop() == 0, server.stderr[-3000:]


def test_no_http_answer_is_a_5xx(edge: tuple[Installation, Server, str]) -> None:
    _, server, key = edge

    @given(st.lists(st.one_of(command_request(), query_request()), min_size=1, max_size=6))
    @settings(max_examples=HTTP_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
    def requests(batch: list[tuple[str, str, Any]]) -> None:
        with httpx.Client(
            base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {key}"}
        ) as api:
            for method, path, payload in batch:
                if method == "GET":
                    answer = api.get(path)
                elif isinstance(payload, bytes):
                    answer = api.post(
                        path, content=payload, headers={"Content-Type": "application/json"}
                    )
                else:
                    answer = api.post(
                        path,
                        content=json.dumps(payload, default=str),
                        headers={"Content-Type": "application/json"},
                    )
                assert answer.status_code < 500, (method, path, payload, answer.text)
                assert answer.headers["content-type"].startswith(
                    ("application/json", "application/problem+json")
                )

    requests()


@st.composite
def cli_argv(draw: st.DrawFn) -> list[str]:
    what = draw(st.sampled_from([*VOCABULARY, "status", "events", "history", "journal", "report"]))
    argv: list[str]
    if what in VOCABULARY:
        argv = [what.replace("_", "-")]
        spec = {f.name: f for f in VOCABULARY[what].fields}
        if "account" in spec:
            argv.append(
                draw(new_account() if what == "register_account" else field_value("account"))
            )
        for field in [f for f in spec if f != "account"] + ["at"]:
            needed = field in spec and spec[field].required
            if draw(st.sampled_from([True] * 9 + [False] if needed else [True, False])):
                argv += ["--" + field.replace("_", "-"), str(draw(field_value(field)))]
    elif what == "report":
        argv = [
            "report",
            draw(st.sampled_from(["mrr", "churn", "revenue", "ageing"])),
            "--month",
            str(draw(MONTH)),
        ]
    elif what == "journal":
        argv = ["journal", "--position", str(draw(WHOLE))]
    else:
        argv = [what, draw(st.one_of(st.just("acme"), TEXT))]
        if what == "status" and draw(st.booleans()):
            argv += [
                draw(st.sampled_from(["--at", "--as-of", "--position"])),
                str(draw(st.one_of(INSTANT, WHOLE))),
            ]
    return argv


def test_no_command_line_ends_in_a_traceback(
    edge: tuple[Installation, Server, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installation, _, _ = edge
    for name, value in installation.env.items():
        if name.startswith("SUBLEDGER_"):
            monkeypatch.setenv(name, value)

    @given(cli_argv())
    @settings(max_examples=CLI_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
    def commands(argv: list[str]) -> None:
        code, out, err = run(capsys, "--json", *argv)
        assert code in (0, 2), (argv, out, err)
        assert "Traceback" not in out + err, (argv, err)
        if code == 2:
            assert json.loads(out)["error"], (argv, out)

    commands()
