"""A scenario's run: the virtual clock moved from one thing to do to the next.

Each step moves the clock to the earliest of: the next scenario event, the
scheduler's next timer, the notifier's next try. At that moment the
scenario's facts go to the ledger over `ledger.inbound` and its collectors'
commands to the scheduler, and everything they set off settles; then what
falls due fires, and settles in turn, until nothing more is due at that
moment (SPEC §4: at one instant recorded facts come before contacts).
Letters are bound into their day's print batch once the day is over.
"""

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio

from services.scheduler.service import Scheduler
from services.scheduler.service.errors import SchedulerError
from shared.clock import VirtualClock
from shared.devstack.smtp_sink import listening
from shared.events import Envelope
from shared.events.ids import stable_id
from shared.simulation.bus import Bus
from shared.simulation.databases import run_databases
from shared.simulation.scenario import (
    DisputeToOpen,
    DisputeToResolve,
    EscalationToApply,
    PauseToApply,
    PlanToAgree,
    PromiseToRecord,
    Scenario,
    ScenarioEvent,
)
from shared.simulation.system import Mail, System
from shared.simulation.timeline import Timeline
from shared.topics import LEDGER_INBOUND

logger = logging.getLogger(__name__)

_TICK = timedelta(microseconds=1)

SAME_MOMENT_ROUNDS = 100
"""Firings at one moment before a run is taken to be looping."""

Progress = Callable[[datetime], None]


class SimulationLooping(RuntimeError):
    """Something stayed due at one moment however often it fired."""


@dataclass(frozen=True)
class Refusal:
    """A collector's command of the scenario that the scheduler refused."""

    event: ScenarioEvent
    reason: str

    def __str__(self) -> str:
        return (
            f"line {self.event.line}: {self.event.type} for {self.event.debtor} "
            f"refused: {self.reason}"
        )


@dataclass
class Outcome:
    """What a run produced."""

    timeline: Timeline
    refusals: list[Refusal] = field(default_factory=list)
    emails: Path | None = None
    letters: Path | None = None


@dataclass(frozen=True)
class Where:
    """Where a run puts what it produces."""

    artifacts: Path
    smtp: Mail | None = None
    """The SMTP server to send to; None runs a sink inside the simulation,
    storing into `artifacts/emails`."""
    templates: Path | None = None
    letter_workers: int | None = None
    postgres: str | None = None
    """A PostgreSQL server for the services' databases; SQLite files if None."""

    @property
    def emails(self) -> Path:
        return self.artifacts / "emails"

    @property
    def letters(self) -> Path:
        return self.artifacts / "letters"

    @property
    def agency(self) -> Path:
        return self.artifacts / "agency"


async def simulate(
    scenario: Scenario,
    bus: Bus,
    where: Where,
    *,
    progress: Progress | None = None,
) -> Outcome:
    """Run `scenario` over `bus`; its timeline, and the commands refused."""
    clock = VirtualClock(scenario.start)
    where.artifacts.mkdir(parents=True, exist_ok=True)
    sink = None
    mail = where.smtp
    if mail is None:
        where.emails.mkdir(parents=True, exist_ok=True)
        sink = await listening("127.0.0.1", 0, where.emails)
        mail = Mail("127.0.0.1", sink.sockets[0].getsockname()[1])

    await bus.start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="overdue-sim-") as workdir,
            run_databases(Path(workdir), where.postgres) as engines,
        ):
            system = System(
                bus,
                clock,
                engines=engines,
                letters=where.letters,
                mail=mail,
                templates=where.templates,
                letter_workers=where.letter_workers,
            )
            try:
                run = Run(scenario, system, clock, where, progress)
                await run.through()
            finally:
                await system.close()
    finally:
        await bus.stop()
        if sink is not None:
            sink.close()
            await sink.wait_closed()
    return Outcome(
        run.timeline,
        run.refusals,
        emails=where.emails if where.smtp is None else None,
        letters=where.letters,
    )


class Run:
    """One scenario's run over one system, step by step."""

    def __init__(
        self,
        scenario: Scenario,
        system: System,
        clock: VirtualClock,
        where: Where,
        progress: Progress | None,
    ) -> None:
        self.scenario = scenario
        self.system = system
        self.clock = clock
        self.progress = progress or (lambda _: None)
        creditor_zone = ZoneInfo(scenario.creditor.timezone)
        self.creditor_zone = creditor_zone
        self.zones: dict[str, ZoneInfo] = {
            debtor.id: ZoneInfo(debtor.upserted.timezone)
            if debtor.upserted.timezone
            else creditor_zone
            for debtor in scenario.debtors
        }
        self.timeline = Timeline(self.zones, creditor_zone, agency=where.agency)
        self.refusals: list[Refusal] = []
        self._pending = list(scenario.events)
        self._bound_through: date | None = None

    async def through(self) -> None:
        """The whole scenario: the creditor and its debtors first, then each step."""
        await self._open_books()
        while (moment := self._next_moment()) is not None:
            self.clock.advance_to(moment)
            self.progress(moment)
            await self._bind_finished_days()
            await self._apply_events_due()
            await self._fire_everything_due()
        self.clock.advance_to(self.scenario.end)
        self.progress(self.scenario.end)
        last_day = (self.scenario.end - _TICK).astimezone(self.creditor_zone).date()
        await self.system.bind_letters(through=last_day)

    # -- the steps ----------------------------------------------------------

    async def _open_books(self) -> None:
        """The creditor, its policy and every debtor, known before day 0."""
        ledger, scenario = self.system.ledger, self.scenario
        ledger.add_creditor(scenario.creditor, creditor_id=scenario.creditor_id)
        ledger.set_policy(scenario.creditor_id, scenario.policy)
        for debtor in scenario.debtors:
            envelope = Envelope.wrap(
                debtor.upserted,
                creditor=scenario.creditor_id,
                debtor=debtor.id,
                occurred_at=self.clock.now(),
                id=stable_id("simulation", "debtor", debtor.id),
            )
            await self._send_fact(envelope)
        await self._settle()

    def _next_moment(self) -> datetime | None:
        """The earliest thing to do before the end, never before now."""
        now = self.clock.now()
        moments = [self.system.next_moment()]
        if self._pending:
            moments.append(self._pending[0].at)
        upcoming = [max(m, now) for m in moments if m is not None]
        if not upcoming or min(upcoming) >= self.scenario.end:
            return None
        return min(upcoming)

    async def _apply_events_due(self) -> None:
        """The scenario's events of this moment, in file order; what one sets
        off settles before the next is applied."""
        now = self.clock.now()
        while self._pending and self._pending[0].at <= now:
            event = self._pending.pop(0)
            if event.fact is not None:
                await self._send_fact(self._envelope(event))
                self._follow_details(event)
            else:
                await self._command(event)
            if event.fact is not None and self._fact_follows_now():
                continue  # the facts of one moment reach the ledger together
            await self._settle()

    def _fact_follows_now(self) -> bool:
        following = self._pending[0] if self._pending else None
        return (
            following is not None
            and following.at <= self.clock.now()
            and following.fact is not None
        )

    async def _fire_everything_due(self) -> None:
        """Timers and retries due now, fired until none is left at this moment."""
        for _ in range(SAME_MOMENT_ROUNDS):
            if not await self.system.fire_due():
                return
            await self._settle()
        raise SimulationLooping(f"still firing at {self.clock.now().isoformat()}")

    async def _bind_finished_days(self) -> None:
        """Once a day is over, its letters go into its print batch."""
        today = self.clock.now().astimezone(self.creditor_zone).date()
        if self._bound_through is None or today > self._bound_through:
            await self.system.bind_letters()
            self._bound_through = today

    # -- what a step does ---------------------------------------------------

    def _envelope(self, event: ScenarioEvent) -> Envelope:
        assert event.fact is not None
        return Envelope.wrap(
            event.fact,
            creditor=self.scenario.creditor_id,
            debtor=event.debtor,
            occurred_at=self.clock.now(),
            id=stable_id("simulation", "event", str(event.line)),
        )

    async def _send_fact(self, envelope: Envelope) -> None:
        """A fact on `ledger.inbound`, as an accounting platform sends it."""
        sent = await self.system.bus.send(
            LEDGER_INBOUND.name, value=envelope.to_bytes(), key=envelope.key.encode()
        )
        await sent

    def _follow_details(self, event: ScenarioEvent) -> None:
        """A debtor who moves to another timezone has its lines in that one."""
        timezone = getattr(event.fact, "timezone", None)
        if event.type == "debtor.updated" and timezone:
            self.zones[event.debtor] = ZoneInfo(timezone)

    async def _command(self, event: ScenarioEvent) -> None:
        """A collector's command, through the scheduler's own entry point."""
        command = event.command
        scheduler = self.system.scheduler
        creditor = self.scenario.creditor_id
        try:
            await anyio.to_thread.run_sync(
                lambda: _carry_out(scheduler, creditor, event.debtor, command)
            )
        except SchedulerError as error:
            refusal = Refusal(event, str(error))
            logger.warning("scenario command refused: %s", refusal)
            self.refusals.append(refusal)

    async def _settle(self) -> None:
        await self.system.settle(self.timeline.observe)


def _carry_out(
    scheduler: Scheduler, creditor: str, debtor: str, command: object
) -> None:
    """Call the scheduler as its HTTP API does for the command."""
    match command:
        case PromiseToRecord():
            scheduler.record_promise(
                creditor,
                debtor,
                amount=command.amount,
                promised_on=command.promised_on,
                currency=command.currency,
                note=command.note,
            )
        case DisputeToOpen():
            scheduler.open_dispute(
                creditor, debtor, invoice=command.invoice, reason=command.reason
            )
        case DisputeToResolve():
            scheduler.resolve_dispute(
                creditor,
                debtor,
                command.invoice,
                resolution=command.resolution,
                note=command.note,
            )
        case PlanToAgree():
            scheduler.agree_plan(
                creditor,
                debtor,
                installments=list(command.installments),
                currency=command.currency,
            )
        case PauseToApply():
            scheduler.pause(creditor, debtor, until=command.until, note=command.note)
        case EscalationToApply():
            scheduler.escalate(creditor, debtor, reason=command.reason)
        case _:
            raise TypeError(f"not a collector's command: {command!r}")
