"""The composition root: one `Ledger` built from its dependencies, nothing at import.

`build_ledger(config, provider)` wires the application, the read models, the consumers
(handing them their ports: the payment provider, the key store) and the scheduler. Every
caller (CLI, HTTP API, scenario runner, demo, tests) goes through it, so they all
exercise the real event store, scheduler and projections. It is the only module that
knows every layer.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from consumers.collector import Collector
from consumers.payment_provider import SimulatedPaymentProvider
from consumers.ports import Attachment, InvoicePdf, PaymentProvider
from consumers.privacy_keeper import PrivacyKeeper
from infra.application.handlers import LedgerApplication
from infra.application.ledger import Ledger, read_only_refusal
from infra.application.queries import ACCOUNTS
from infra.config import LedgerConfig
from infra.persistence.api_keys import ApiKeyStore
from infra.persistence.database import (
    DatabaseNotReadyError,
    ensure_schema,
)
from infra.persistence.event_chain import Checkpointer
from infra.persistence.idempotency import IdempotencyStore
from infra.persistence.keystore import MasterKeyError
from infra.persistence.ledger_store import LedgerStore
from infra.persistence.meta import check_schema_version, mark_schema_version, schema_version
from infra.persistence.sqlite import SQLiteViewStore
from projections.isolation import ReadModelHaltedError
from projections.runner import AccountsProjection, BatchRunner
from projections.sql import SQLITE, postgres


def build_ledger(
    config: LedgerConfig,
    provider: PaymentProvider | None = None,
    *,
    create: bool | None = None,
    fresh: bool = False,
    read_only: bool = False,
) -> Ledger:
    """`create`: make the tables (default: SQLite yes, PostgreSQL only by `db init`);
    `fresh`: refuse a database that already holds a ledger; `read_only`: open it for
    reading only (SQLite `mode=ro`; every write refused by the ledger, `read_only`)."""
    db = config.db
    if read_only:
        if create:
            raise read_only_refusal(db.describe(), "creating its tables")
        db, create = replace(db, read_only=True), False
    if config.master_key is None:
        raise MasterKeyError(
            "no master key configured: `master_key_file` under [ledger] "
            "or SUBLEDGER_MASTER_KEY (`subledger init` makes one)"
        )
    create = db.is_sqlite if create is None else create
    if create:
        ensure_schema(db)
    store: LedgerStore
    if db.is_sqlite:
        app = LedgerApplication(
            profile=config.profile,
            currency=config.currency,
            catalog=config.catalog,
            env=db.env(create=create),
            sql=SQLITE,
            master_key=config.master_key,
            tax=config.tax,
        )
        store = SQLiteViewStore(app.datastore)
    else:
        from infra.persistence.postgres import (
            TRACKING_TABLE,
            LedgerPostgresRecorder,
            PostgresViewStore,
        )

        app = LedgerApplication(
            profile=config.profile,
            currency=config.currency,
            catalog=config.catalog,
            env=db.env(create=create),
            sql=postgres(db.schema, TRACKING_TABLE),
            master_key=config.master_key,
            tax=config.tax,
        )
        assert isinstance(app.recorder, LedgerPostgresRecorder)
        store = PostgresViewStore(app.datastore, app.recorder.events_table_name)
    if fresh and schema_version(store) is not None:
        app.close()
        raise DatabaseNotReadyError(
            f"{db.describe()} already holds a ledger; a new event store is needed"
        )
    if create:
        store.create_table()
        app.keys.create_tables()
        ApiKeyStore(app.datastore, store.dialect).create_tables()
        IdempotencyStore(app.datastore, store.dialect).create_tables()
        mark_schema_version(store)
    else:
        check_schema_version(store, db)
    try:
        app.keys.check_master_key()
    except MasterKeyError:
        app.close()
        raise

    def subscribers(plan: str, term: str) -> list[UUID]:
        """PRICE-1 notifies every subscriber the account views know: not from views
        stopped on an event, which would miss some."""
        if store.isolation.is_halted(ACCOUNTS):
            raise ReadModelHaltedError(
                [f for f in store.isolation.failures() if f.name == ACCOUNTS]
            )
        return [UUID(a) for a in store.live_on(plan, term)]

    app.subscribers = subscribers

    runner = BatchRunner(app, store, [AccountsProjection(store, app.mapper)])
    provider = provider or SimulatedPaymentProvider()
    checkpointer = None
    if config.signing_key is not None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        checkpointer = Checkpointer(
            store, Ed25519PrivateKey.from_private_bytes(config.signing_key), config.checkpoint_every
        )
    return Ledger(
        app=app,
        store=store,
        projections=runner,
        checkpointer=checkpointer,
        seller=config.seller,
        inline_collection=not (config.kafka or {}).get("collection", False),
        collector=Collector(app, store, provider, app.record_collection_outcomes),
        privacy=PrivacyKeeper(app, store, app.keys),
        provider=provider,
        read_only=read_only,
        database=db.describe(),
    )


def invoice_pdf_port(ledger: Ledger) -> InvoicePdf | None:
    """The invoice email's attachment (issue 17): the Factur-X PDF of invoice n as its
    InvoiceIssued event left it (the event's log position), so a redelivered notice
    carries the same document. None without a `[seller]`: no document can be made."""
    if ledger.seller is None:
        return None
    from infra.interface.invoicing.formats import FORMATS, filename  # fpdf2 only if used

    pdf = FORMATS["pdf"]

    def attachment(ref: str, n: int, position: int | None) -> Attachment:
        doc = ledger.invoice_document(ref, n, position=position)
        return Attachment(
            filename=filename(doc, pdf), content=pdf.render(doc), media_type=pdf.media_type
        )

    return attachment
