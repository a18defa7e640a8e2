"""How fast the notifier renders and sends emails and letters, against plain tools.

    .venv/bin/python bench/notifier.py [--emails 2000] [--letters 60] [--runs 3]

Needs nothing running: it starts its own discarding SMTP server in another
process (`bench/smtp_discard.py`). Each run measures, in this order:

- emails, baseline: the same N messages, rendered and serialised before the
  clock starts, sent by a plain aiosmtplib loop over as many connections as
  the notifier's pool has;
- emails, notifier: N sample contacts (no attachment), each rendered from the
  templates, composed and sent through the notifier's `SmtpPool`;
- letters, baseline: M letters' HTML, rendered before the clock starts, made
  into PDFs by plain WeasyPrint in a process pool of all cores;
- letters, notifier: M contacts rendered from the templates and made into
  PDFs by the notifier's `LetterPress`, a pool of as many processes;
- emails with a statement attached (`attach_statement: true`), on their own.

It prints per-second figures, the ratios to the baselines, their medians
over the runs, and peak memory (this process, and the largest pool worker).
"""

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context

import aiosmtplib
from common import ROOT  # also puts the project on the path
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.notifier.adapters.press import LetterPress
from services.notifier.adapters.smtp import SmtpPool
from services.notifier.domain.documents import ContactDocument
from services.notifier.domain.message_ids import message_id_for
from services.notifier.rendering.mime import Attachment, compose_raw
from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import Templates
from shared.devstack.process import free_port

POOL = 4
"""SMTP connections, for the notifier's pool and the baseline alike."""

SENDER = "ar@acme.example"
RECIPIENT = "ap@beta.example"


@dataclass
class Run:
    baseline_emails: float
    emails: float
    baseline_letters: float
    letters: float
    statement_emails: float

    @property
    def email_ratio(self) -> float:
        return self.emails / self.baseline_emails

    @property
    def letter_ratio(self) -> float:
        return self.letters / self.baseline_letters


def documents(count: int, template: str, attach: bool = False) -> list[ContactDocument]:
    """`count` sample contacts, each its own contact id, alternating languages."""
    samples = {lang: sample_document(template, lang) for lang in ("en", "de")}
    made = []
    for n in range(count):
        sample = samples["de" if n % 2 else "en"]
        contact = sample.contact.model_copy(
            update={"contact_id": f"bench-{template}-{n}", "attach_statement": attach}
        )
        made.append(replace(sample, contact=contact))
    return made


def compose(
    templates: Templates,
    document: ContactDocument,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    rendered = templates.render_email(document)
    message_id = message_id_for(document.contact.contact_id, SENDER)
    return compose_raw(
        document, rendered, message_id=message_id, to=RECIPIENT, attachments=attachments
    )


async def plain_smtp(port: int, messages: list[bytes]) -> float:
    """Baseline: pre-rendered bytes over POOL plain aiosmtplib connections."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(POOL)]
    for client in clients:
        await client.connect()
    shares = [messages[i::POOL] for i in range(POOL)]

    async def send(client: aiosmtplib.SMTP, share: list[bytes]) -> None:
        for raw in share:
            await client.sendmail(SENDER, [RECIPIENT], raw)

    started = time.perf_counter()
    await asyncio.gather(*(send(c, s) for c, s in zip(clients, shares, strict=True)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.quit()
    return len(messages) / elapsed


async def notifier_emails(
    port: int,
    templates: Templates,
    batch: list[ContactDocument],
    press: LetterPress | None,
) -> float:
    """The notifier's way: render, compose (and attach) and send through its pool."""
    pool = SmtpPool(host="127.0.0.1", port=port, size=POOL)
    await pool.send(compose(templates, batch[0]), sender=SENDER, recipients=[RECIPIENT])
    queue: asyncio.Queue[ContactDocument] = asyncio.Queue()
    for document in batch:
        queue.put_nowait(document)

    async def worker() -> None:
        while not queue.empty():
            document = queue.get_nowait()
            attachments = []
            if press is not None and document.contact.attach_statement:
                pdf = await press.render(templates.render_statement(document))
                attachments.append(
                    Attachment("statement.pdf", "application/pdf", pdf.data)
                )
            message = compose(templates, document, attachments)
            await pool.send(
                message,
                sender=SENDER,
                recipients=[RECIPIENT],
                contact_id=document.contact.contact_id,
            )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(POOL * 2)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return len(batch) / elapsed


def plain_weasyprint(html: str) -> int:
    """Baseline's job in the pool: plain WeasyPrint, HTML string in, PDF bytes out."""
    from weasyprint import HTML

    return len(HTML(string=html).write_pdf() or b"")


def warm() -> None:
    plain_weasyprint("<p>warm-up</p>")


async def plain_letters(pool: ProcessPoolExecutor, pages: list[str]) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    await asyncio.gather(
        *(loop.run_in_executor(pool, plain_weasyprint, h) for h in pages)
    )
    return len(pages) / (time.perf_counter() - started)


async def notifier_letters(
    press: LetterPress, templates: Templates, batch: list[ContactDocument]
) -> float:
    """As the service does it: each letter rendered from its template, then
    handed to the press, so the pool starts on the first while the next renders."""

    async def letter(document: ContactDocument) -> None:
        html = templates.render_letter(document)
        await press.render(html, templates.base_url(document.creditor_id))

    started = time.perf_counter()
    await asyncio.gather(*(letter(d) for d in batch))
    return len(batch) / (time.perf_counter() - started)


async def one_run(
    args: argparse.Namespace,
    port: int,
    press: LetterPress,
    pool: ProcessPoolExecutor,
    progress: Progress,
    task: object,
) -> Run:
    templates = Templates()
    mails = documents(args.emails, "reminder")
    rendered = [compose(templates, d) for d in mails]
    baseline_emails = await plain_smtp(port, rendered)
    progress.advance(task)  # type: ignore[arg-type]
    emails = await notifier_emails(port, templates, mails, None)
    progress.advance(task)  # type: ignore[arg-type]

    letters = documents(args.letters, "final")
    pages = [templates.render_letter(d) for d in letters]
    baseline_letters = await plain_letters(pool, pages)
    progress.advance(task)  # type: ignore[arg-type]
    ours = await notifier_letters(press, templates, letters)
    progress.advance(task)  # type: ignore[arg-type]

    with_statements = documents(args.statements, "second", attach=True)
    statement_emails = await notifier_emails(port, templates, with_statements, press)
    progress.advance(task)  # type: ignore[arg-type]
    return Run(baseline_emails, emails, baseline_letters, ours, statement_emails)


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def start_discard_server() -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port("127.0.0.1", 2600)
    script = str(ROOT / "bench" / "smtp_discard.py")
    return port, subprocess.Popen([sys.executable, script, "--port", str(port)])


async def main(args: argparse.Namespace) -> None:
    console = Console()
    port, server = start_discard_server()
    workers = os.cpu_count() or 1
    press = LetterPress(workers)
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=warm
    )
    runs: list[Run] = []
    try:
        await asyncio.sleep(1.0)
        # Both pools warm before anything is timed.
        await asyncio.gather(*(press.render("<p>warm</p>") for _ in range(workers)))
        await plain_letters(pool, ["<p>warm</p>"] * workers)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"{args.runs} runs", total=args.runs * 5)
            for _ in range(args.runs):
                runs.append(await one_run(args, port, press, pool, progress, task))
    finally:
        press.close()
        pool.shutdown()
        server.terminate()
        server.wait()

    table = Table(
        title=f"notifier, {args.runs} runs, {workers} cores, {POOL} SMTP connections"
    )
    table.add_column("figure")
    for n in range(len(runs)):
        table.add_column(f"run {n + 1}", justify="right")
    table.add_column("median", justify="right", style="bold")
    rows = [
        (
            "emails/s, plain aiosmtplib (baseline)",
            [r.baseline_emails for r in runs],
            "{:,.0f}",
        ),
        (
            "emails/s, rendered + sent by the notifier",
            [r.emails for r in runs],
            "{:,.0f}",
        ),
        ("  ratio (target >= 0.7)", [r.email_ratio for r in runs], "{:.2f}"),
        (
            "letters/s, plain WeasyPrint pool (baseline)",
            [r.baseline_letters for r in runs],
            "{:.1f}",
        ),
        ("letters/s, the notifier's press", [r.letters for r in runs], "{:.1f}"),
        ("  ratio (target >= 0.9)", [r.letter_ratio for r in runs], "{:.2f}"),
        (
            "emails/s with a statement attached",
            [r.statement_emails for r in runs],
            "{:.1f}",
        ),
    ]
    for name, values, form in rows:
        table.add_row(
            name,
            *(form.format(v) for v in values),
            form.format(statistics.median(values)),
        )
    console.print(table)
    console.print(
        f"peak memory: this process {peak_mib(resource.RUSAGE_SELF):.0f} MiB, "
        f"largest pool worker {peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000, help="emails per run")
    parser.add_argument("--letters", type=int, default=60, help="letters per run")
    parser.add_argument(
        "--statements",
        type=int,
        default=40,
        help="emails with a statement attached, per run",
    )
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    os.chdir(ROOT)
    asyncio.run(main(parse()))
