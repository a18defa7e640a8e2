"""`/v1`: what collectors record on a debtor's case, and what they read (SPEC §4).

Every route acts for the creditor whose key the request carries; another
creditor's debtor is a 404, never a 403. A POST with an `Idempotency-Key`
records once: the same key and body again answer the first response.
"""

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.scheduler.http.requests import (
    DisputeRequest,
    DisputeResolutionRequest,
    EscalateRequest,
    NoteRequest,
    PauseRequest,
    PlanRequest,
    PromiseRequest,
)
from services.scheduler.service import Scheduler
from services.scheduler.service.views import CaseSummary, Forecast, Recorded, Timeline
from shared.http.auth import creditor_of_key
from shared.http.errors import ERROR_RESPONSES
from shared.http.idempotency import (
    HEADER,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
)

REPLAYED = "Idempotent-Replayed"

KeyHeader = Header(
    None,
    alias=HEADER,
    max_length=200,
    description="Any unique string, e.g. a uuid. The same key with the same body "
    "again answers the first response and records nothing new; with another "
    "body it is a 409.",
)

DebtorPath = Path(max_length=200, description="The debtor's id, as in the ledger.")

State = Literal["open", "paused", "escalated", "resolved"]


def _posted(*errors: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of a command: 201 with `Recorded`, and its errors."""
    created: dict[str, Any] = {
        "model": Recorded,
        "description": "Recorded; or the first response again, for a replayed key.",
        "headers": {
            REPLAYED: {
                "description": "`true` when this answers a request made before.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    }
    return {
        201: created,
        **{status: ERROR_RESPONSES[status] for status in (401, *errors)},
    }


def _read(*errors: int) -> dict[int | str, dict[str, Any]]:
    return {status: ERROR_RESPONSES[status] for status in (401, *errors)}


def scheduler_router(scheduler: Scheduler, idempotency: IdempotencyStore) -> APIRouter:
    """The collector's `/v1` routes, for the creditor of the request's key."""
    router = APIRouter(prefix="/v1")
    creditor = creditor_of_key(scheduler.authenticate)

    def once(
        request: Request,
        creditor_id: str,
        body: BaseModel,
        key: str | None,
        record: Callable[[], Recorded],
    ) -> JSONResponse:
        """Record, or answer a replayed key from the store."""
        print_ = fingerprint(
            request.method, request.url.path, body.model_dump_json().encode()
        )
        if key is not None:
            stored = idempotency.replay(creditor_id, key, print_)
            if stored is not None:
                return _respond(stored, replayed=True)
        # TODO(#4): two requests with one key at the same instant may both
        # record before either stores its answer; the key's row should be
        # written in the command's own transaction.
        response = StoredResponse(201, record().model_dump(mode="json"))
        if key is not None:
            response = idempotency.remember(
                creditor_id, key, print_, response, scheduler.clock.now()
            )
        return _respond(response, replayed=False)

    @router.post(
        "/cases/{debtor:path}/promises",
        status_code=201,
        tags=["commitments"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def record_promise(
        request: Request,
        body: PromiseRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record a promise to pay: the ladder pauses, a confirmation goes out at
        the next slot, the promise is checked after its date. Needs an open case."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.record_promise(
                creditor_id,
                debtor,
                amount=body.amount,
                promised_on=body.promised_on,
                currency=body.currency,
                note=body.note,
            ),
        )

    @router.post(
        "/cases/{debtor:path}/plans",
        status_code=201,
        tags=["commitments"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def agree_plan(
        request: Request,
        body: PlanRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record a payment plan: the ladder pauses while installments are met.
        Needs an open case."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.agree_plan(
                creditor_id,
                debtor,
                installments=[(i.due_on, i.amount) for i in body.installments],
                currency=body.currency,
            ),
        )

    # The resolution's path is longer and more specific: it is matched first.
    @router.post(
        "/cases/{debtor:path}/disputes/{invoice:path}/resolution",
        status_code=201,
        tags=["disputes"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def resolve_dispute(
        request: Request,
        body: DisputeResolutionRequest,
        debtor: str = DebtorPath,
        invoice: str = Path(max_length=200, description="The invoice's number."),
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Close the invoice's open dispute: `rejected` chases it again, `upheld`
        keeps it out until the ledger's credit note."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.resolve_dispute(
                creditor_id,
                debtor,
                invoice,
                resolution=body.resolution,
                note=body.note,
            ),
        )

    @router.post(
        "/cases/{debtor:path}/disputes",
        status_code=201,
        tags=["disputes"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def open_dispute(
        request: Request,
        body: DisputeRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Record a dispute of one invoice: it is not chased while it is open,
        and the debtor gets an acknowledgement if the policy says so."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.open_dispute(
                creditor_id, debtor, invoice=body.invoice, reason=body.reason
            ),
        )

    @router.post(
        "/cases/{debtor:path}/notes",
        status_code=201,
        tags=["cases"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def add_note(
        request: Request,
        body: NoteRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Add a note to the debtor's current (or last) case."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.add_note(
                creditor_id, debtor, author=body.author, text=body.text
            ),
        )

    @router.post(
        "/cases/{debtor:path}/pause",
        status_code=201,
        tags=["cases"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def pause(
        request: Request,
        body: PauseRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Hold the open case's ladder until a later local date."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.pause(
                creditor_id, debtor, until=body.until, note=body.note
            ),
        )

    @router.post(
        "/cases/{debtor:path}/escalate",
        status_code=201,
        tags=["cases"],
        response_model=Recorded,
        responses=_posted(404, 409, 422),
    )
    def escalate(
        request: Request,
        body: EscalateRequest,
        debtor: str = DebtorPath,
        creditor_id: str = Depends(creditor),
        key: str | None = KeyHeader,
    ) -> JSONResponse:
        """Hand the open case to the agency now: `case.escalated` carries its file
        and automated contacts stop."""
        return once(
            request,
            creditor_id,
            body,
            key,
            lambda: scheduler.escalate(creditor_id, debtor, reason=body.reason),
        )

    @router.get("/cases", tags=["cases"], responses=_read(422))
    def cases(
        state: State | None = Query(None, description="Only cases in this state."),
        stage: str | None = Query(
            None, max_length=100, description="Only cases whose next stage this is."
        ),
        creditor_id: str = Depends(creditor),
    ) -> list[CaseSummary]:
        """Each debtor's latest case, by debtor id."""
        return scheduler.cases(creditor_id, state=state, stage=stage)

    @router.get("/cases/{debtor:path}", tags=["cases"], responses=_read(404))
    def case(
        debtor: str = DebtorPath, creditor_id: str = Depends(creditor)
    ) -> Timeline:
        """The debtor's whole timeline: invoices, payments, contacts, promises,
        plans, disputes, pauses, notes and cases."""
        return scheduler.case(creditor_id, debtor)

    @router.get("/forecast", tags=["forecast"], responses=_read(422))
    def forecast(
        days: int = Query(30, ge=1, le=366, description="How far ahead to look."),
        creditor_id: str = Depends(creditor),
    ) -> Forecast:
        """Every contact the ladder would send in the next `days` days, and every
        escalation, if nothing changed meanwhile."""
        return scheduler.forecast(creditor_id, days)

    return router


def _respond(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = {REPLAYED: "true"} if replayed else {}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
