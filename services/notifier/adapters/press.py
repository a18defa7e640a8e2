"""Letters rendered to PDF in a pool of processes: WeasyPrint is CPU-bound.

The pool's processes are spawned, not forked: the notifier's own process runs
Kafka clients and database threads that a fork would copy half-way.
"""

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Self

from services.notifier.rendering.pdf import RenderedPdf, render_pdf

logger = logging.getLogger(__name__)

RenderPdf = Callable[[str, str | None], RenderedPdf]


def _warm_up() -> None:
    """Import WeasyPrint and load its fonts once per worker, before the first letter."""
    render_pdf("<p>warm-up</p>", None)


class LetterPress:
    """`await press.render(html)`: the PDF and its page count, rendered off the loop."""

    def __init__(self, workers: int | None = None, render: RenderPdf = render_pdf):
        self.workers = workers or os.cpu_count() or 1
        self._render = render
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_up,
        )

    async def render(self, html: str, base_url: str | None = None) -> RenderedPdf:
        """The letter's PDF. A worker that died (killed, out of memory) breaks
        the whole pool: a fresh one takes over and the letter is tried once
        more on it; a letter that breaks that one too fails."""
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, self._render, html, base_url)
        except BrokenProcessPool:
            if self._pool is pool:  # the first letter to find it broken replaces it
                logger.warning("letter press broken; a new pool takes over")
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, self._render, html, base_url)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
