"""Schemathesis against the served `/openapi.json`: generated requests, bounded.

Every operation gets up to `EXAMPLES` generated requests (valid ones, and ones that
break the schema on purpose) sent to a real server process with a key of every scope.
No answer may be a 5xx, and every answer must match what the document promises: its
status, its content type and its JSON schema. The examples are derandomised so that CI
runs the same requests each time; a failure is a bug of the API or of its document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_kit import Installation, Server, day
from backends import Backend, require_postgres
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 40


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    if request.param == "postgres":
        require_postgres()
    root = tmp_path_factory.mktemp("schemathesis")
    backend = Backend(request.param, Path(root))
    request.addfinalizer(backend.cleanup)
    installation = Installation(Path(root) / "ledger", backend)
    config = Path(root) / "ledger" / "subledger.toml"  # documents need a seller (TAX-6)
    config.write_text(
        config.read_text() + '\n[seller]\nname = "Example BV"\naddress = '
        '"Rue de la Loi 16, 1000 Brussels"\nvat_id = "BE0403170701"\n'
    )
    key = installation.key("read", "write", "privacy", "operator")
    server = Server(installation, log_level="warning").start()
    seeded = server.client(key)  # one customer, so that some generated paths find her
    assert (
        seeded.post(
            "/accounts",
            json={"account": "acme-1", "name": "Acme", "email": "acme@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    yield server, key
    assert server.stop() == 0, server.stderr[-3000:]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_answer_matches_the_document(
    running: tuple[Server, str], mode: GenerationMode
) -> None:
    """Each operation's own Hypothesis strategy (schemathesis' Python API rather than its
    pytest plugin, which does not run on pytest 9 yet); failures are gathered per
    operation so that one run reports them all."""
    server, key = running
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 31

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=checks)

        try:
            run()
        except Unsatisfiable:  # nothing can be wrong in a request without inputs
            assert mode is GenerationMode.NEGATIVE and operation.label == "GET /health"
        except Exception as e:  # gathered: every operation is tried
            failures[operation.label] = str(e)[:2000]
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
