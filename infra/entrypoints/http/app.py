"""The HTTP API: the ledger's commands as POST, its queries as GET, nothing else.

Every command route is generated from the command's declaration
(`infra/interface/vocabulary.py`: path, body schema, scope, summary) and hands the parsed
command to what the CLI calls (`infra.application.service.run_command`, and the `Ledger`
queries): the rules live in the domain only, so the API and the CLI cannot drift.
FastAPI gives the routing and the OpenAPI document; request bodies are read raw and
parsed by the declaration (described, not re-implemented, by `schemas.py`).
Ledger calls are synchronous and run in the server's thread pool; the ledger serialises
its writes itself.

`at` (when a command happened) defaults to now and must lie between `max_backdate` ago
and a few minutes ahead: a command dated decades back would make the scheduler run
decades of renewals on the caller's behalf, one dated ahead would move the clock past
everyone else's commands.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures' types at
# runtime, and the local aliases below (`account_path`, ...) must be real objects then.
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
import structlog
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as Scope_

from domain import bounds
from domain.calendar import format_instant
from domain.errors import ErrorCode, Rejected, invalid
from infra.application.ledger import Ledger
from infra.application.service import CommandResult, receipt_of_committed, run_command
from infra.entrypoints.http import schemas
from infra.entrypoints.http.invoices import add_invoice_routes
from infra.entrypoints.http.problems import MEDIA_TYPE, from_rejected, problem
from infra.interface import presenter as out
from infra.interface.vocabulary import DECLARATIONS, Declaration, Scope
from infra.persistence.api_keys import ApiKey, ApiKeyStore
from infra.persistence.extras import IdempotencyKeyTaken, RequestClaim, RequestMark
from infra.persistence.idempotency import (
    Claim,
    ClaimState,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
)
from infra.persistence.meta import schema_version
from projections import reports
from projections.documents import ObservedState
from projections.isolation import ReadModelHaltedError, is_transient
from projections.journal import trial_balance

log = structlog.get_logger("subledger.api")
JSON = "application/json"
MAX_BODY = 64 * 1024
FUTURE_SKEW = timedelta(minutes=5)
IDEMPOTENCY_KEY_MAX = 255
RETRY_AFTER = {"Retry-After": "1"}  # a conflict or a database that is briefly away


class ApiProblem(Exception):
    """A refusal of the API itself (authentication, idempotency, size), not of a rule."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.doc = problem(status, code, detail, **extensions)
        self.headers = headers or {}


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(out.plain(doc)), status, headers, media_type=JSON)


def _problem(doc: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), doc["status"], headers, media_type=MEDIA_TYPE)


class AccessLog:
    """One log line per request, and a crash turned into a 500 problem, logged once
    without the frames' locals. Never a header: no API key reaches a log. A plain ASGI
    middleware: it does not buffer or wrap the request as `BaseHTTPMiddleware` does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = {"status": 0, "replayed": False}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["replayed"] = any(
                    k == b"idempotent-replayed" for k, _ in message.get("headers", [])
                )
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except ClientDisconnect:  # the client left (or was cut off) mid-body: no answer
            log.info("client gone", method=scope["method"], path=scope["path"])
        except Exception as e:
            transient = is_transient(e)
            log.error(
                "request failed",
                method=scope["method"],
                path=scope["path"],
                error=type(e).__name__,
                exc_info=None if transient else e,
            )
            if answer["status"]:
                return  # the answer had started: nothing more can be said
            if transient:  # the database, briefly: nothing was recorded, retry
                await _problem(
                    problem(
                        503,
                        "unavailable",
                        "the database is busy or away; nothing was recorded, try again",
                    ),
                    RETRY_AFTER,
                )(scope, receive, sending)
                return
            await _problem(
                problem(
                    500, "internal_error", "the ledger failed to answer; nothing is lost, try again"
                )
            )(scope, receive, sending)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=answer["status"],
                key=scope.get("state", {}).get("key_id"),
                replayed=answer["replayed"],
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


# ------------------------------------------------------------------ parameters
AccountPath = Annotated[
    str,
    Path(
        description="the account reference",
        max_length=bounds.TEXT_LENGTHS["account"],
        pattern=schemas.TEXT_PATTERN,
    ),
]
InstantQuery = Annotated[
    str | None,
    Query(description="an ISO-8601 UTC instant, e.g. 2026-06-01T00:00:00Z", max_length=40),
]
PositionQuery = Annotated[
    int | None, Query(ge=1, le=bounds.MAX_POSITION, description="a log position")
]


def _retry(e: Rejected) -> dict[str, str]:
    """A conflict that may pass when tried again says when (SPEC `conflict`)."""
    return dict(RETRY_AFTER) if e.code is ErrorCode.CONFLICT else {}


def _halted_problem(e: ReadModelHaltedError) -> dict[str, Any]:
    return problem(503, "read_model_halted", str(e), halted=[f.as_dict() for f in e.failures])


# ------------------------------------------------------------------ route table
# one POST per declared command (infra/interface/vocabulary.py): path, body, scope, summary
COMMANDS = tuple(d for d in DECLARATIONS if d.path is not None)

PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": schemas.PROBLEM}}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}
AUTH_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "no API key, or not a valid one",
        "content": PROBLEM_CONTENT,
        "headers": {
            "WWW-Authenticate": {
                "description": '`Bearer realm="subledger"`',
                "schema": {"type": "string"},
            }
        },
    },
    403: {"description": "the key lacks the scope", "content": PROBLEM_CONTENT},
    "4XX": {
        "description": "refused: `code` says why (SPEC error codes)",
        "content": PROBLEM_CONTENT,
    },
    503: {
        "description": "`unavailable`: the database is busy or away, nothing was "
        "recorded, retry after `Retry-After`; `read_model_halted`: the "
        "answer needs a read model stopped on an event (see `/health`)",
        "content": PROBLEM_CONTENT,
        "headers": RETRY_AFTER_HEADER,
    },
    "5XX": {"description": "our failure", "content": PROBLEM_CONTENT},
}
COMMAND_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "a state conflict (`account_exists`, ...); `conflict` and "
        "`idempotency_key_in_use` can be retried after `Retry-After`",
        "content": PROBLEM_CONTENT,
        "headers": RETRY_AFTER_HEADER,
    },
    413: {"description": f"the body is over {MAX_BODY} bytes", "content": PROBLEM_CONTENT},
    415: {"description": "the body is not JSON", "content": PROBLEM_CONTENT},
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true`: the stored answer of an earlier request with this "
        "Idempotency-Key and body",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
LOCATION_HEADER = {
    "Location": {
        "description": "the new account: `/accounts/{account}`",
        "schema": {"type": "string"},
    }
}


def _ok(
    schema: schemas.Schema,
    description: str,
    status: int = 200,
    headers: dict[str, Any] | None = None,
) -> dict[int | str, Any]:
    ok: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        ok["headers"] = headers
    return {status: ok, **AUTH_PROBLEMS}


def _command_responses(description: str, status: int) -> dict[int | str, Any]:
    headers = {**REPLAYED_HEADER, **(LOCATION_HEADER if status == 201 else {})}
    return {**_ok(schemas.RECEIPT, description, status, headers), **COMMAND_PROBLEMS}


# ------------------------------------------------------------------ the application
@dataclass
class Api:
    ledger: Ledger
    keys: ApiKeyStore
    idempotency: IdempotencyStore
    clock: Callable[[], datetime]
    max_backdate: timedelta = timedelta(days=400)
    future_margin: timedelta = FUTURE_SKEW
    # concurrent requests' commands share transactions (infra/application/group_commit.py)
    group_commit: bool = True
    app: FastAPI = field(init=False)
    fingerprint_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.fingerprint_key = self.ledger.app.keys.derived_key(b"subledger idempotency")
        self.app = FastAPI(
            title="subledger",
            version="1",
            docs_url=None,
            redoc_url=None,
            dependencies=[Depends(known_query_only)],
            redirect_slashes=False,  # `/reports/` is not found, not a redirect of a POST
            description="An event-sourced subscription ledger. Commands are POST, queries "
            "GET; amounts in commands and states are decimal strings, in the "
            "journal integer minor units. Authenticate with "
            "`Authorization: Bearer <key>` (`subledger apikey create`). Every "
            "POST takes an `Idempotency-Key`. Refusals are RFC 9457 problem "
            "documents whose `code` is the SPEC error code.",
        )
        self._handlers()
        self._routes()

    # ---- time
    def instant(self, text: Any, name: str) -> datetime | None:
        """A command's instant, when it gives one (None: timed in the ledger's lock)."""
        if text is None:
            return None
        now = self.clock()
        at = bounds.instant(text, name)
        if at > now + self.future_margin:
            raise invalid(
                f"{name} {text} is in the future: commands record what happened "
                "(dates to come have fields of their own, such as effective_at)",
                name,
            )
        if at < now - self.max_backdate:
            raise invalid(f"{name} {text} is more than {self.max_backdate.days} days back", name)
        return at

    def _when(self, text: str | None) -> datetime:
        """A query's instant: any, past or future (reading writes nothing); default now."""
        return self.clock() if text is None else bounds.instant(text, "at")

    def _state(self, account: str, as_of: str | None) -> ObservedState:
        """Now (as far as scheduled work has run), or as it stood at `as_of`: its events
        effective before that instant."""
        if as_of is None:
            return self.ledger.state(account, as_of=self.clock())
        return self.ledger.state_as_of(account, bounds.instant(as_of, "as_of"))

    # ---- authentication
    def require(self, scope: Scope) -> Callable[..., ApiKey]:
        bearer = HTTPBearer(
            auto_error=False,
            scheme_name="apiKey",
            description="an API key: `subledger apikey create --scope ...`",
        )

        def authorised(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        ) -> ApiKey:
            challenge = {"WWW-Authenticate": 'Bearer realm="subledger"'}
            if credentials is None:
                raise ApiProblem(
                    401,
                    "unauthenticated",
                    "an API key is needed: Authorization: Bearer <key>",
                    headers=challenge,
                )
            key = self.keys.authenticate(credentials.credentials)
            if key is None:
                raise ApiProblem(
                    401,
                    "unauthenticated",
                    "the API key is not valid (unknown, mistyped or revoked)",
                    headers=challenge,
                )
            request.state.key_id = key.key_id
            if scope not in key.scopes:
                raise ApiProblem(
                    403,
                    "insufficient_scope",
                    f"this key's scopes ({', '.join(sorted(key.scopes))}) do not "
                    f"include {scope.value}",
                    required_scope=scope.value,
                )
            return key

        return authorised

    # ---- errors
    def _handlers(self) -> None:
        app = self.app

        @app.exception_handler(ApiProblem)
        async def api_problem(_: Request, e: ApiProblem) -> Response:
            return _problem(e.doc, e.headers)

        @app.exception_handler(Rejected)
        async def rejected(_: Request, e: Rejected) -> Response:
            return _problem(from_rejected(e), _retry(e))

        @app.exception_handler(ReadModelHaltedError)
        async def halted(_: Request, e: ReadModelHaltedError) -> Response:
            return _problem(_halted_problem(e))

        @app.exception_handler(RequestValidationError)
        async def malformed(_: Request, e: RequestValidationError) -> Response:
            first = e.errors()[0] if e.errors() else {}
            name = str(first.get("loc", ("", "request"))[-1])
            return _problem(
                problem(400, "invalid_input", f"{name}: {first.get('msg', 'invalid')}", field=name)
            )

        @app.exception_handler(StarletteHTTPException)
        async def http_error(_: Request, e: StarletteHTTPException) -> Response:
            code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
            return _problem(problem(e.status_code, code, str(e.detail)), e.headers)

        app.add_middleware(AccessLog)

    # ---- routes
    def _routes(self) -> None:
        for route in COMMANDS:
            self._command(route)
        self._queries()
        self._privacy()

        @self.app.get(
            "/health",
            tags=["operations"],
            summary="Is the ledger reachable, and is every read model and consumer running?",
            responses={
                200: {
                    "description": "reachable, everything running",
                    "content": {JSON: {"schema": schemas.HEALTH}},
                },
                503: {
                    "description": "`unavailable`: the database is not reachable; "
                    "`degraded`: commands are taken, but `halted` names "
                    "the read models or consumers stopped on an event, "
                    "or `catch_up` the last catch-up's failure",
                    "content": {JSON: {"schema": schemas.HEALTH}},
                },
            },
        )
        def health() -> Response:
            try:
                position = self.ledger.app.recorder.max_notification_id() or 0
                version = schema_version(self.ledger.store)
                halted = [f.as_dict() for f in self.ledger.halted()]
            except Exception as e:  # any failure of the store is "unavailable"
                log.warning("health check failed", error=type(e).__name__)
                return _json({"status": "unavailable", "detail": "database unreachable"}, 503)
            doc: dict[str, Any] = {"status": "ok", "position": position, "schema_version": version}
            catch_up = self.ledger.settle_failure
            if halted or catch_up:
                doc.update(status="degraded", halted=halted, catch_up=catch_up)
                return _json(doc, 503)
            return _json(doc)

    def _command(self, route: Declaration) -> None:
        assert route.path is not None
        body = schemas.body_schema(route)
        extra = {
            "requestBody": {
                "required": bool(body.get("required")),
                "content": {JSON: {"schema": body}},
            }
        }
        status = 201 if route.created else 200
        description = "the command was recorded (or was a repeat that changed nothing)"
        auth = Depends(self.require(route.scope))
        IdempotencyKey = Annotated[  # noqa: N806 - a type alias, named as one
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=IDEMPOTENCY_KEY_MAX,
                pattern=r"^[\x21-\x7e]+$",
                description="a unique key per logical request: a retry with the same key and "
                "body gets the first response (`Idempotent-Replayed: true`); another "
                "body with it, 422; while the first still runs, 409 with "
                "`Retry-After`. Kept 24 hours.",
            ),
        ]
        post = self.app.post(
            route.path,
            summary=route.http_summary,
            tags=["commands"],
            openapi_extra=extra,
            status_code=status,
            operation_id=route.do,
            responses=_command_responses(description, status),
            response_class=Response,
        )

        if route.path_fields == {"account", "invoice"}:

            @post
            async def with_invoice(
                request: Request,
                account: AccountPath,
                invoice: Annotated[int, Path(ge=1, le=bounds.MAX_INVOICE_NUMBER)],
                key: Annotated[ApiKey, auth],
                idempotency_key: IdempotencyKey = None,
            ) -> Response:
                return await self._run(
                    request, route, {"account": account, "invoice": invoice}, key, idempotency_key
                )
        elif route.path_fields == {"account"}:

            @post
            async def with_account(
                request: Request,
                account: AccountPath,
                key: Annotated[ApiKey, auth],
                idempotency_key: IdempotencyKey = None,
            ) -> Response:
                return await self._run(request, route, {"account": account}, key, idempotency_key)
        else:

            @post
            async def plain(
                request: Request,
                key: Annotated[ApiKey, auth],
                idempotency_key: IdempotencyKey = None,
            ) -> Response:
                return await self._run(request, route, {}, key, idempotency_key)

    async def _run(
        self,
        request: Request,
        route: Declaration,
        path_fields: dict[str, Any],
        key: ApiKey,
        idempotency_key: str | None,
    ) -> Response:
        body = await _read_body(request)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body.strip() and not (media == JSON or media.endswith("+json")):
            raise ApiProblem(
                415,
                "unsupported_media_type",
                f"the body must be JSON, sent as {JSON} (not {media or 'without a Content-Type'})",
            )
        print_ = fingerprint(self.fingerprint_key, "POST", request.url.path, body)
        answer, replayed = await run_in_threadpool(
            self._once, route, body, path_fields, key, idempotency_key, print_
        )
        return _stored(answer, replayed=replayed)

    def _once(
        self,
        route: Declaration,
        body: bytes,
        path_fields: dict[str, Any],
        key: ApiKey,
        idempotency_key: str | None,
        print_: bytes,
    ) -> tuple[StoredResponse, bool]:
        """Look at the key, run the command (which claims the key in its own
        transaction), keep its answer: in one trip to the thread pool, and one durable
        commit beside the command's. The answer, and whether it is a replay of an
        earlier one."""
        if idempotency_key is None:
            return self._execute(route, body, path_fields), False
        now = int(self.clock().timestamp())
        seen = self.idempotency.peek(key.key_id, idempotency_key, print_, now)
        earlier = self._answer_of(seen, route, body, path_fields, (key.key_id, idempotency_key))
        if earlier is not None:
            return earlier
        claim = RequestClaim(key.key_id, idempotency_key, print_, now)
        try:
            answer = self._execute(route, body, path_fields, claim)
        except IdempotencyKeyTaken:  # rolled back: another request with the key was first
            return self._answer_of_taken(route, body, path_fields, key, idempotency_key, print_)
        if answer.status == 503 or "Retry-After" in answer.headers:
            return answer, False  # "try again" is not kept: it would answer every retry
        try:
            kept = self.idempotency.answer(claim, answer)
        except Exception as e:  # the command's outcome stands: say it, keep it next time
            # a retry replays it from the log (the claim was written `committed` with the
            # events) or, when nothing was saved, runs to the same refusal
            log.warning("answer not kept", idempotency_key=idempotency_key, error=repr(e))
            kept = True
        if not kept:
            return self._answer_of_taken(route, body, path_fields, key, idempotency_key, print_)
        return answer, False

    def _answer_of(
        self,
        seen: Claim,
        route: Declaration,
        body: bytes,
        path_fields: dict[str, Any],
        mark: tuple[str, str],
    ) -> tuple[StoredResponse, bool] | None:
        """The answer a request with an Idempotency-Key gets without running, or None:
        the key is free, run it."""
        if seen.state is ClaimState.MISMATCH:
            raise ApiProblem(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used "
                "with another request; use a new key for a new request",
                field="Idempotency-Key",
            )
        if seen.state is ClaimState.IN_FLIGHT:
            raise ApiProblem(
                409,
                "idempotency_key_in_use",
                "the first request with this Idempotency-Key is still running; retry shortly",
                headers={"Retry-After": "1"},
                field="Idempotency-Key",
            )
        if seen.state is ClaimState.REPLAY:
            assert seen.stored is not None
            return seen.stored, True
        if seen.state is ClaimState.COMMITTED:  # recorded, but its answer was lost
            answer = self._rebuilt(route, body, path_fields, seen.claimed_at)
            self.idempotency.complete(*mark, answer)
            return answer, True
        return None

    def _answer_of_taken(
        self,
        route: Declaration,
        body: bytes,
        path_fields: dict[str, Any],
        key: ApiKey,
        idempotency_key: str,
        print_: bytes,
    ) -> tuple[StoredResponse, bool]:
        """Another request with this key got there first: its row answers this one."""
        seen = self.idempotency.peek(
            key.key_id, idempotency_key, print_, int(self.clock().timestamp())
        )
        earlier = self._answer_of(seen, route, body, path_fields, (key.key_id, idempotency_key))
        if earlier is None:  # the row went away meanwhile: the client may try again
            raise ApiProblem(
                409,
                "idempotency_key_in_use",
                "another request with this Idempotency-Key was running; retry shortly",
                headers={"Retry-After": "1"},
                field="Idempotency-Key",
            )
        return earlier

    def _execute(
        self,
        route: Declaration,
        body: bytes,
        path_fields: dict[str, Any],
        mark: RequestMark | None = None,
    ) -> StoredResponse:
        """The command's answer: its receipt, or the rule's refusal as a problem."""
        try:
            fields = self._fields(body, path_fields)
            at = self.instant(fields.pop("at", None), "at")
            command = route.parse(fields, at or self.clock())
            result = run_command(
                self.ledger,
                command,
                mark=mark,
                timed_by=self.clock if at is None else None,
                grouped=self.group_commit,
            )
        except Rejected as e:
            doc = from_rejected(e)
            return StoredResponse(doc["status"], MEDIA_TYPE, orjson.dumps(doc), _retry(e))
        except ReadModelHaltedError as e:
            doc = _halted_problem(e)
            return StoredResponse(doc["status"], MEDIA_TYPE, orjson.dumps(doc), {})
        return self._receipt(route, result)

    def _rebuilt(
        self, route: Declaration, body: bytes, path_fields: dict[str, Any], claimed_at: int
    ) -> StoredResponse:
        """The receipt of a command recorded by a request that died before answering:
        `at` as the body gave it, else the instant of the first request."""
        fields = self._fields(body, path_fields)
        at = (
            bounds.instant(fields["at"], "at")
            if isinstance(fields.get("at"), str)
            else datetime.fromtimestamp(claimed_at, UTC)
        )
        account = fields.get("account") if isinstance(fields.get("account"), str) else None
        return self._receipt(route, receipt_of_committed(self.ledger, route.do, account, at))

    @staticmethod
    def _fields(body: bytes, path_fields: dict[str, Any]) -> dict[str, Any]:
        fields = _object(body)
        for name, value in path_fields.items():
            if name in fields and fields[name] != value:
                raise invalid(f"{name} is given by the path, not the body", name)
            fields[name] = value
        return fields

    @staticmethod
    def _receipt(route: Declaration, result: CommandResult) -> StoredResponse:
        headers = {}
        if route.created and result.account is not None:
            headers["Location"] = f"/accounts/{quote(result.account, safe='')}"
        return StoredResponse(
            201 if route.created else 200, JSON, orjson.dumps(result.as_json()), headers
        )

    def _queries(self) -> None:
        app, read = self.app, Depends(self.require(Scope.READ))

        @app.get(
            "/accounts/{account}",
            tags=["queries"],
            dependencies=[read],
            summary="The account's state: now, as it stood at `as_of` (its events "
            "effective before that instant), or at log position `position`",
            responses=_ok(schemas.STATE, "the observed state"),
            response_class=Response,
        )
        def account_state(
            account: AccountPath, as_of: InstantQuery = None, position: PositionQuery = None
        ) -> Response:
            if as_of is not None and position is not None:
                raise invalid("as_of and position are two ways to ask: give one", "position")
            if position is not None:
                return _json(self.ledger.state_at(account, position))
            return _json(self._state(account, as_of))

        @app.get(
            "/accounts/{account}/events",
            tags=["queries"],
            dependencies=[read],
            summary="The account's stored events, oldest first (personal fields sealed)",
            responses=_ok(schemas.EVENTS, "the events"),
            response_class=Response,
        )
        def events(account: AccountPath) -> Response:
            stored = sorted(self.ledger.events(account), key=lambda e: e.originator_version)
            return _json([out.event_doc(e) for e in stored])

        @app.get(
            "/accounts/{account}/history",
            tags=["queries"],
            dependencies=[read],
            summary="The account's timeline: position, effective and recorded times, "
            "and the state each event left",
            responses=_ok(schemas.HISTORY, "the timeline"),
            response_class=Response,
        )
        def history(account: AccountPath) -> Response:
            return _json(self.ledger.history(account))

        @app.get(
            "/accounts/{account}/invoices",
            tags=["queries"],
            dependencies=[read],
            summary="The account's invoices, now or as they stood at `as_of`",
            responses=_ok(schemas.INVOICES, "the invoices"),
            response_class=Response,
        )
        def invoices(account: AccountPath, as_of: InstantQuery = None) -> Response:
            state = self._state(account, as_of)
            return _json({"account": account, "invoices": state["invoices"]})

        @app.get(
            "/journal",
            tags=["queries"],
            dependencies=[read],
            summary="The double-entry journal and its trial balance; with `as_of`, "
            "revenue recognised by then is added",
            responses=_ok(schemas.JOURNAL, "lines and trial balance"),
            response_class=Response,
        )
        def journal(
            account: Annotated[
                str | None,
                Query(max_length=bounds.TEXT_LENGTHS["account"], pattern=schemas.TEXT_PATTERN),
            ] = None,
            as_of: InstantQuery = None,
            position: PositionQuery = None,
        ) -> Response:
            when = None if as_of is None else bounds.instant(as_of, "as_of")
            if account is not None:
                self.ledger.account(account)  # unknown_account, as the CLI says it
            lines = self.ledger.journal(
                account, position=position, as_of=when, recognise=when is not None
            )
            return _json(trial_balance(lines))

        report_name = Literal[reports.NAMES]  # type: ignore[valid-type]

        @app.get(
            "/reports/{name}",
            tags=["queries"],
            dependencies=[read],
            summary="Finance reports as of an instant (default now); churn, revenue, "
            "mrr-movements and vat (TAX-5) for a month (`month`, default the "
            "month of `at`; the other reports refuse it)",
            responses=_ok(schemas.REPORT, "the report's rows"),
            response_class=Response,
        )
        def report(
            name: Annotated[report_name, Path()],
            at: InstantQuery = None,
            month: Annotated[
                str | None,
                Query(pattern=bounds.MONTH_PATTERN, description="YYYY-MM, from 1970-01 to 2999-12"),
            ] = None,
        ) -> Response:
            when = self._when(at)
            rows = self.ledger.report(name, as_of=when, month=month)
            return _json({"report": name, "as_of": format_instant(when), "rows": rows})

        add_invoice_routes(app, self.ledger, read, AUTH_PROBLEMS)  # TAX-6 documents

    def _privacy(self) -> None:
        app, privacy = self.app, Depends(self.require(Scope.PRIVACY))

        @app.get(
            "/privacy/report",
            tags=["privacy"],
            dependencies=[privacy],
            summary="The GDPR audit of every account (GDPR-1..3, GDPR-6); needs the privacy scope",
            responses=_ok(schemas.PRIVACY_REPORT, "one record per account"),
            response_class=Response,
        )
        def privacy_report(at: InstantQuery = None) -> Response:
            when = self._when(at)
            return _json(
                {"as_of": format_instant(when), "accounts": self.ledger.privacy_report(as_of=when)}
            )

        @app.get(
            "/accounts/{account}/personal-data",
            tags=["privacy"],
            dependencies=[privacy],
            summary="Everything held about the customer (GDPR-4); the export is "
            "itself recorded in the audit trail; needs the privacy scope",
            responses=_ok(schemas.EXPORT, "the export"),
            response_class=Response,
        )
        def export(account: AccountPath, at: InstantQuery = None) -> Response:
            return _json(self.ledger.export(account, self.instant(at, "at"), self.clock))


def known_query_only(request: Request) -> None:
    """An unknown query parameter is refused, not ignored: `?asof=` (for `as_of`) must
    not quietly answer with today's state to an auditor who asked about the past."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        known |= {p.alias for p in current.query_params}
        pending += current.dependencies
    for name in request.query_params:
        if name not in known:
            raise invalid(
                f"unknown query parameter {name!r}"
                + (
                    f"; this operation takes {', '.join(sorted(known))}"
                    if known
                    else "; this operation takes none"
                ),
                name,
            )


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) as soon as it is known to be too large: by its declared
    length, or while it streams in; a large body is never held whole."""
    too_large = ApiProblem(413, "payload_too_large", f"the body is over {MAX_BODY} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise invalid(f"the body is not JSON: {e}", "body") from None
    if not isinstance(doc, dict):
        raise invalid("the body must be a JSON object", "body")
    if bounds.json_depth(doc) > bounds.MAX_JSON_DEPTH:
        raise invalid(f"the body nests deeper than {bounds.MAX_JSON_DEPTH} levels", "body")
    return doc


def _stored(answer: StoredResponse, *, replayed: bool = False) -> Response:
    headers = dict(answer.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(answer.body, answer.status, headers, media_type=answer.media_type)


def create_app(
    ledger: Ledger,
    keys: ApiKeyStore,
    idempotency: IdempotencyStore,
    clock: Callable[[], datetime],
    *,
    max_backdate: timedelta = timedelta(days=400),
    future_margin: timedelta = FUTURE_SKEW,
    group_commit: bool = True,
) -> FastAPI:
    """The composition root of the API: everything it uses is passed in."""
    return Api(ledger, keys, idempotency, clock, max_backdate, future_margin, group_commit).app
