"""`/v1`: record facts, read debtors, statements and invoices, keep the creditor.

Every POST goes through `Ledger.record`, exactly like a fact on
`ledger.inbound`, so the API and the topic record the same facts and emit the
same events. With an `Idempotency-Key`, the envelope's id is derived from the
key: a replay is answered from the first response and recorded nowhere twice.
"""

import logging
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from services.ledger.domain.errors import Conflict, Invalid, NotFound
from services.ledger.http.requests import (
    CreditNoteRequest,
    DebtorRequest,
    InvoiceRequest,
    PaymentRequest,
    WriteOffRequest,
    inbound_fact,
)
from services.ledger.imports.recording import ImportReport, import_open_items
from services.ledger.service import CreditorProfile, Ledger, RecordResult
from services.ledger.service.views import DebtorView, InvoiceView, StatementView
from shared.clock import Clock
from shared.events import Envelope
from shared.events.inbound import (
    InboundInvoiceWrittenOff,
)
from shared.events.payload import Payload
from shared.http.auth import creditor_of_key
from shared.http.errors import ERROR_RESPONSES
from shared.http.idempotency import (
    HEADER,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
)

logger = logging.getLogger(__name__)

IDEMPOTENT_NAMESPACE = uuid.UUID("5b0e7c1e-6f55-4c55-9a4a-0d6a3d8c2f10")
"""Envelope ids derived from idempotency keys live in this uuid5 namespace."""

KeyHeader = Header(
    None,
    alias=HEADER,
    max_length=200,
    description="Any unique string, e.g. a uuid. The same key with the same body "
    "again answers the first response and records nothing new; with another "
    "body it is a 409.",
)

REPLAYED = "Idempotent-Replayed"


class ImportResult(BaseModel):
    """What an import recorded."""

    recorded: int = Field(description="Facts recorded from the file.")
    duplicates: int = Field(description="Facts recorded already, by an earlier import.")


class LineProblem(BaseModel):
    """One bad line of an imported file; line 1 is the header."""

    line: int
    column: str | None
    message: str


def _posted(model: type[BaseModel], *errors: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of a POST: 201 with `model`, and the errors it may give."""
    created: dict[str, Any] = {
        "model": model,
        "description": "Recorded; or the first response again, for a replayed key.",
        "headers": {
            REPLAYED: {
                "description": "`true` when this answers a request made before.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    }
    return {201: created, **{status: ERROR_RESPONSES[status] for status in errors}}


def _read(*errors: int) -> dict[int | str, dict[str, Any]]:
    return {status: ERROR_RESPONSES[status] for status in (401, *errors)}


def ledger_router(
    ledger: Ledger, idempotency: IdempotencyStore, clock: Clock
) -> APIRouter:
    """The `/v1` routes, acting for the creditor whose key the request carries."""
    router = APIRouter(prefix="/v1")
    creditor = creditor_of_key(ledger.authenticate)
    facts = _FactPoster(ledger, idempotency, clock)

    @router.post(
        "/debtors",
        status_code=201,
        tags=["debtors"],
        response_model=DebtorView,
        responses=_posted(DebtorView, 401, 409, 422),
    )
    def upsert_debtor(
        request: Request,
        body: DebtorRequest,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Create a debtor, or replace its details."""
        payload = inbound_fact(body, addressed_by="id")
        return facts.post(
            request,
            creditor_id,
            body.id,
            payload,
            body,
            key,
            lambda: ledger.debtor(creditor_id, body.id),
        )

    @router.post(
        "/invoices",
        status_code=201,
        tags=["invoices"],
        response_model=InvoiceView,
        responses=_posted(InvoiceView, 401, 409, 422),
    )
    def issue_invoice(
        request: Request,
        body: InvoiceRequest,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record an invoice; a credit the debtor holds settles it at once."""
        payload = inbound_fact(body)
        return facts.post(
            request,
            creditor_id,
            body.debtor,
            payload,
            body,
            key,
            lambda: ledger.invoice(creditor_id, body.number),
        )

    @router.post(
        "/payments",
        status_code=201,
        tags=["payments"],
        response_model=StatementView,
        responses=_posted(StatementView, 401, 409, 422),
    )
    def receive_payment(
        request: Request,
        body: PaymentRequest,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record a payment: the named invoice first, then the oldest due; the
        rest stays as credit. Answers with the debtor's statement after it."""
        payload = inbound_fact(body)
        return facts.post(
            request,
            creditor_id,
            body.debtor,
            payload,
            body,
            key,
            lambda: ledger.statement(creditor_id, body.debtor),
        )

    @router.post(
        "/credit-notes",
        status_code=201,
        tags=["invoices"],
        response_model=StatementView,
        responses=_posted(StatementView, 401, 409, 422),
    )
    def issue_credit_note(
        request: Request,
        body: CreditNoteRequest,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record a credit note: the named invoice first, the rest is credit.
        Answers with the debtor's statement after it."""
        payload = inbound_fact(body)
        return facts.post(
            request,
            creditor_id,
            body.debtor,
            payload,
            body,
            key,
            lambda: ledger.statement(creditor_id, body.debtor),
        )

    @router.post(
        "/invoices/{number:path}/write-off",
        status_code=201,
        tags=["invoices"],
        response_model=InvoiceView,
        responses=_posted(InvoiceView, 401, 404, 409, 422),
    )
    def write_off(
        request: Request,
        body: WriteOffRequest,
        number: str = Path(max_length=200, description="The invoice's number."),
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Give up what is left of an invoice."""
        debtor = ledger.invoice(creditor_id, number).debtor
        payload = InboundInvoiceWrittenOff(number=number, **body.model_dump())
        return facts.post(
            request,
            creditor_id,
            debtor,
            payload,
            body,
            key,
            lambda: ledger.invoice(creditor_id, number),
        )

    @router.post(
        "/imports",
        status_code=201,
        tags=["imports"],
        response_model=ImportResult,
        responses=_posted(ImportResult, 401, 409, 422),
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "An open-items export, as docs/csv-import.md "
                "describes: any of its encodings, separators and column names.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"}
                            },
                            "required": ["file"],
                        }
                    },
                },
            }
        },
    )
    async def import_file(
        request: Request,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record an open-items CSV file whole, or nothing of it if a line is bad;
        a 422 then lists every bad line. Importing a file again records nothing."""
        data = await _uploaded(request)
        if not data.strip():
            raise _EmptyFile()
        print_ = fingerprint(request.method, request.url.path, data)
        if key is not None:
            stored = await run_in_threadpool(
                idempotency.replay, creditor_id, key, print_
            )
            if stored is not None:
                return _respond(stored, replayed=True)

        report: ImportReport = await run_in_threadpool(
            import_open_items, ledger, creditor_id, data, imported_at=clock.now()
        )
        logger.info(
            "file imported" if report.ok else "file refused",
            extra={
                "creditor": creditor_id,
                "recorded": report.recorded,
                "duplicates": report.duplicates,
                "problems": len(report.problems),
            },
        )
        if not report.ok:
            return _refused_file(report)

        response = StoredResponse(
            201,
            ImportResult(
                recorded=report.recorded, duplicates=report.duplicates
            ).model_dump(mode="json"),
        )
        if key is not None:
            response = await run_in_threadpool(
                idempotency.remember, creditor_id, key, print_, response, clock.now()
            )
        return _respond(response, replayed=False)

    # Ids and numbers may hold a `/` ("RE/2026/001"), sent as is or as %2F:
    # `:path` takes the rest of the path, so the statement route comes first.
    @router.get(
        "/debtors/{debtor_id:path}/statement", tags=["debtors"], responses=_read(404)
    )
    def statement(
        debtor_id: str, creditor_id: str = Depends(creditor)
    ) -> StatementView:
        """Open items, payments and balances, oldest due first."""
        return ledger.statement(creditor_id, debtor_id)

    @router.get("/debtors/{debtor_id:path}", tags=["debtors"], responses=_read(404))
    def debtor(debtor_id: str, creditor_id: str = Depends(creditor)) -> DebtorView:
        """A debtor's details."""
        return ledger.debtor(creditor_id, debtor_id)

    @router.get("/invoices/{number:path}", tags=["invoices"], responses=_read(404))
    def invoice(number: str, creditor_id: str = Depends(creditor)) -> InvoiceView:
        """An invoice with its balance and what settled it."""
        return ledger.invoice(creditor_id, number)

    @router.put("/creditor", tags=["creditor"], status_code=204, responses=_read(422))
    def update_profile(
        profile: CreditorProfile, creditor_id: str = Depends(creditor)
    ) -> None:
        """Replace the creditor's profile; published on `ledger.creditors`."""
        ledger.update_profile(creditor_id, profile)

    @router.put(
        "/creditor/policy", tags=["creditor"], status_code=204, responses=_read(422)
    )
    def set_policy(
        policy: dict[str, Any] = Body(description="The policy of SPEC §3, as JSON."),
        creditor_id: str = Depends(creditor),
    ) -> None:
        """Replace the creditor's collection policy, checked as `overdue policy check`
        checks a file; published on `ledger.creditors`. A 422 lists every problem."""
        ledger.set_policy(creditor_id, policy)

    return router


async def _uploaded(request: Request) -> bytes:
    """The file: the body itself, or the `file` field of a multipart form."""
    if not request.headers.get("content-type", "").startswith("multipart/"):
        return await request.body()
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise _EmptyFile()
    return await upload.read()


class _EmptyFile(Invalid):
    def __init__(self) -> None:
        super().__init__("the request carries no file", field="file")


class UnknownReference(Invalid):
    """The body names a debtor or invoice the creditor does not have.

    The path names what a request is about, and a missing one is a 404; a
    body field that refers to nothing is a mistake in the body, hence a 422.
    """

    def __init__(self, missing: NotFound) -> None:
        super().__init__(missing.message, field=missing.field)


class _FactPoster:
    """Record one fact for a POST, answering a replayed idempotency key from store."""

    def __init__(
        self, ledger: Ledger, idempotency: IdempotencyStore, clock: Clock
    ) -> None:
        self.ledger = ledger
        self.idempotency = idempotency
        self.clock = clock

    def post(
        self,
        request: Request,
        creditor_id: str,
        debtor_id: str,
        payload: Payload,
        body: BaseModel,
        key: str | None,
        answer: Callable[[], BaseModel],
    ) -> JSONResponse:
        print_ = fingerprint(
            request.method, request.url.path, body.model_dump_json().encode()
        )
        if key is not None:
            stored = self.idempotency.replay(creditor_id, key, print_)
            if stored is not None:
                return _respond(stored, replayed=True)

        envelope = Envelope.wrap(
            payload,
            creditor=creditor_id,
            debtor=debtor_id,
            occurred_at=self.clock.now(),
            id=_envelope_id(creditor_id, key),
        )
        result = self._record(creditor_id, envelope, keyed=key is not None)
        response = StoredResponse(201, answer().model_dump(mode="json"))
        if key is not None:
            response = self.idempotency.remember(
                creditor_id, key, print_, response, self.clock.now()
            )
        logger.info(
            "fact already recorded" if result.duplicate else "fact recorded",
            extra={
                "creditor": creditor_id,
                "event_id": str(result.event_id),
                "type": result.type,
                "emitted": len(result.emitted),
            },
        )
        return _respond(response, replayed=result.duplicate, event_id=result.event_id)

    def _record(
        self, creditor_id: str, envelope: Envelope, *, keyed: bool
    ) -> RecordResult:
        try:
            try:
                return self.ledger.record(creditor_id, envelope)
            except (IntegrityError, Conflict) as clash:
                # A request recorded at the same moment may have taken what
                # this one needs: its envelope id (the same key), or a number.
                # Once more, the ledger sees that and answers for it: a
                # replay for the same key, the conflict for another request.
                if isinstance(clash, Conflict) and not keyed:
                    raise
                return self.ledger.record(creditor_id, envelope)
        except NotFound as missing:
            raise UnknownReference(missing) from None


def _envelope_id(creditor_id: str, key: str | None) -> uuid.UUID | None:
    """The same key of the same creditor gives the same fact id, so it records once."""
    if key is None:
        return None
    return uuid.uuid5(IDEMPOTENT_NAMESPACE, f"{creditor_id}\n{key}")


def _respond(
    stored: StoredResponse, *, replayed: bool, event_id: uuid.UUID | None = None
) -> JSONResponse:
    headers = {REPLAYED: "true"} if replayed else {}
    if event_id is not None:
        headers["X-Event-Id"] = str(event_id)
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


def _refused_file(report: ImportReport) -> JSONResponse:
    problems = [
        LineProblem(line=p.line, column=p.column, message=p.message).model_dump()
        for p in report.problems
    ]
    first = report.problems[0]
    where = f"line {first.line}" + (f", {first.column}" if first.column else "")
    return JSONResponse(
        {"error": {"field": where, "message": first.message, "problems": problems}},
        status_code=422,
    )
