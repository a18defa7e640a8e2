"""`/v1`: what collectors record on a debtor's case, and what they read (SPEC §4).

Every route acts for the creditor whose key the request carries; another
creditor's debtor is a 404, never a 403. A POST with an `Idempotency-Key`
records once: the same key and body again answer the first response, even
when both arrive at the same instant.
"""

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
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
from services.scheduler.service import AnsweredBefore, Once, Scheduler
from services.scheduler.service.views import CaseSummary, Forecast, Recorded, Timeline
from shared.http.auth import creditor_of_key
from shared.http.errors import ERROR_RESPONSES
from shared.http.idempotency import HEADER, StoredResponse, fingerprint

REPLAYED = "Idempotent-Replayed"

KeyHeader = Header(
    None,
    alias=HEADER,
    max_length=200,
    description="Any unique string, e.g. a uuid. The same key with the same body "
    "again answers the first response and records nothing new, even at the same "
    "instant; with another body it is a 409.",
)

DebtorPath = Path(max_length=200, description="The debtor's id, as in the ledger.")

State = Literal["open", "paused", "escalated", "resolved"]

PAGE = 100
"""Cases per page unless `limit` says otherwise."""
MAX_PAGE = 500


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


def scheduler_router(scheduler: Scheduler) -> APIRouter:
    """The collector's `/v1` routes, for the creditor of the request's key."""
    router = APIRouter(prefix="/v1")
    creditor = creditor_of_key(scheduler.authenticate)

    def once(
        request: Request,
        body: BaseModel,
        key: str | None,
        record: Callable[[Once | None], Recorded],
    ) -> JSONResponse:
        """Record, or answer with the first response to the key.

        The scheduler takes the key in the command's own transaction: a second
        request with it waits for the first to commit, then gets its answer.
        """
        once_ = None
        if key is not None:
            print_ = fingerprint(
                request.method, request.url.path, body.model_dump_json().encode()
            )
            once_ = Once(key, print_)
        try:
            recorded = record(once_)
        except AnsweredBefore as first:
            return _respond(first.response, replayed=True)
        return _respond(
            StoredResponse(201, recorded.model_dump(mode="json")), replayed=False
        )

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
            body,
            key,
            lambda once_: scheduler.record_promise(
                creditor_id,
                debtor,
                amount=body.amount,
                promised_on=body.promised_on,
                currency=body.currency,
                note=body.note,
                once=once_,
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
            body,
            key,
            lambda once_: scheduler.agree_plan(
                creditor_id,
                debtor,
                installments=[(i.due_on, i.amount) for i in body.installments],
                currency=body.currency,
                once=once_,
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
            body,
            key,
            lambda once_: scheduler.resolve_dispute(
                creditor_id,
                debtor,
                invoice,
                resolution=body.resolution,
                note=body.note,
                once=once_,
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
            body,
            key,
            lambda once_: scheduler.open_dispute(
                creditor_id,
                debtor,
                invoice=body.invoice,
                reason=body.reason,
                once=once_,
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
            body,
            key,
            lambda once_: scheduler.add_note(
                creditor_id, debtor, author=body.author, text=body.text, once=once_
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
            body,
            key,
            lambda once_: scheduler.pause(
                creditor_id, debtor, until=body.until, note=body.note, once=once_
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
            body,
            key,
            lambda once_: scheduler.escalate(
                creditor_id, debtor, reason=body.reason, once=once_
            ),
        )

    @router.get(
        "/cases",
        tags=["cases"],
        responses={
            200: {
                "description": "A page of cases; `Link` names the next one.",
                "headers": {
                    "Link": {
                        "description": '`<...?after=...>; rel="next"` while '
                        "another page follows.",
                        "schema": {"type": "string"},
                    }
                },
            },
            **_read(422),
        },
    )
    def cases(
        request: Request,
        response: Response,
        state: State | None = Query(None, description="Only cases in this state."),
        stage: str | None = Query(
            None, max_length=100, description="Only cases whose next stage this is."
        ),
        after: str | None = Query(
            None,
            min_length=1,
            max_length=200,
            description="Start after this debtor id: the last one of the page before.",
        ),
        limit: int = Query(
            PAGE, ge=1, le=MAX_PAGE, description="At most this many cases."
        ),
        creditor_id: str = Depends(creditor),
    ) -> list[CaseSummary]:
        """Each debtor's latest case, by debtor id, a page at a time."""
        page = scheduler.cases(
            creditor_id, state=state, stage=stage, after=after, limit=limit
        )
        if page.next_after is not None:
            query = {
                name: value
                for name, value in request.query_params.items()
                if name != "after"
            }
            query["after"] = page.next_after
            response.headers["Link"] = (
                f'<{request.url.path}?{urlencode(query)}>; rel="next"'
            )
        return page.cases

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
