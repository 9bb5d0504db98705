"""App processes: the demo app runs instrumented in a few worker processes, fed the timeline in batches.

Why processes: the provider SDKs spend a few milliseconds of CPU per call, all under one GIL, so a
single process replays only a few hundred calls a second; two processes use both cores of a small
machine. Each worker is one "app server" as in production: its own shim (and spool file), its own
clock seam, its own thread pool and SDK clients. The parent keeps the mock providers and the
timeline, and hands each worker its share of one segment at a time.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import modelmeter
from modelmeter.demo.clock import SimulatedClock
from modelmeter.demo.parts import DemoError
from modelmeter.demo.scenario import SEED, SERVICE, PlannedCall

Segment = list[tuple[int, PlannedCall]]  # (position in the timeline, call), in time order
CALL_DONE, BATCH_DONE, CLOSED, FAILED = "call", "batch", "closed", "failed"
SILENCE_LIMIT_S = 60.0  # a worker that says nothing for this long is presumed stuck


@dataclass(frozen=True)
class AppSetup:
    """What a worker needs to run the app: where the vendors are, where spans go, how to tag them."""

    spool: Path
    endpoints: str  # MODELMETER_ENDPOINTS for the mock servers
    base_urls: dict[str, str]
    run_id: str
    threads: int


def serve(setup: AppSetup, inbox: Any, outbox: Any) -> None:
    """A worker's main: replay each batch it receives until told to stop (None), then flush and report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it then stops us
    try:
        from modelmeter.demo.app import Deployment, NorthwindApp  # the provider SDKs: heavy to import

        with _instrumented(setup.spool, setup.endpoints) as clock:
            app = NorthwindApp(Deployment(setup.base_urls))

            def play(index: int, call: PlannedCall) -> None:
                workflow = call.workflow
                tags = modelmeter.tag(
                    workflow=workflow.name, team=workflow.team, tier=workflow.tier, run=setup.run_id
                )
                with clock.at(call.at), tags:
                    app.handle(call, random.Random(SEED + index))

            with ThreadPoolExecutor(max_workers=setup.threads) as pool:
                while (batch := _next_batch(inbox)) is not None:
                    for future in as_completed([pool.submit(play, index, call) for index, call in batch]):
                        future.result()
                        outbox.put(CALL_DONE)
                    outbox.put(BATCH_DONE)
    except BaseException as error:
        outbox.put((FAILED, f"{type(error).__name__}: {error}"))
        raise
    outbox.put(CLOSED)


def _next_batch(inbox: Any) -> Segment | None:
    """The next batch to play, or None when told to stop or when the parent process is gone."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            batch: Segment | None = inbox.get(timeout=1.0)
            return batch
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None


@contextmanager
def _instrumented(spool: Path, endpoints: str) -> Iterator[SimulatedClock]:
    """The shim on, writing to `spool`, reading time from a simulated clock; all undone on exit."""
    from modelmeter.instrument import clock as shim_clock

    simulated = SimulatedClock()
    real_now_ns = shim_clock.now_ns
    shim_clock.now_ns = simulated.now_ns
    modelmeter.instrument(spool=spool, endpoints=endpoints, service_name=SERVICE)
    try:
        yield simulated
    finally:
        flushed = modelmeter.flush()
        modelmeter.uninstrument()
        shim_clock.now_ns = real_now_ns
    if not flushed:
        raise DemoError("the shim could not flush every span to the spool in time")


class AppWorkers:
    """The worker processes, as a context manager; `play` replays one segment across all of them."""

    def __init__(self, setup: AppSetup, processes: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
        self._outbox: Any = context.Queue()
        self._inboxes: list[Any] = [context.Queue() for _ in range(processes)]
        self._processes: list[BaseProcess] = [
            context.Process(
                target=serve, args=(setup, inbox, self._outbox), name=f"demo-app-{n}", daemon=True
            )
            for n, inbox in enumerate(self._inboxes)
        ]

    def __enter__(self) -> AppWorkers:
        for process in self._processes:
            process.start()
        return self

    def play(self, segment: Segment, on_call: Callable[[], None]) -> None:
        """Replay `segment` (calls dealt round-robin to the workers); returns when every call is done."""
        shares = [segment[n :: len(self._inboxes)] for n in range(len(self._inboxes))]
        busy = 0
        for inbox, share in zip(self._inboxes, shares, strict=True):
            if share:
                inbox.put(share)
                busy += 1
        while busy:
            message = self._next_message()
            if message == CALL_DONE:
                on_call()
            elif message == BATCH_DONE:
                busy -= 1

    def __exit__(self, *exc: object) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        open_workers = len(self._processes) if exc[0] is None else 0
        while open_workers:
            if self._next_message() == CLOSED:
                open_workers -= 1
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()

    def _next_message(self) -> Any:
        """The next message from any worker; DemoError when one failed, died or fell silent."""
        waited = 0.0
        while True:
            try:
                message = self._outbox.get(timeout=1.0)
                break
            except queue.Empty:
                waited += 1.0
                crashed = [p.name for p in self._processes if p.exitcode not in (None, 0)]
                if crashed:
                    raise DemoError(f"app worker {', '.join(crashed)} stopped unexpectedly") from None
                if waited >= SILENCE_LIMIT_S:
                    raise DemoError(f"the app workers said nothing for {SILENCE_LIMIT_S:.0f} s") from None
        if isinstance(message, tuple) and message[0] == FAILED:
            raise DemoError(f"an app worker failed: {message[1]}")
        return message
