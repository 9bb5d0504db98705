"""`MockProviders`: every mock vendor on its own loopback port, served by one asyncio loop in a thread.

The dispatcher here does what is common to all wire families: it resolves knobs, applies gateway
fallback, injects faults and delays, writes the answer, and records a `ServedCall` for every request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from modelmeter.mock import gateways
from modelmeter.mock.answer import Answer, Ask, Frame, dumps
from modelmeter.mock.calls import CallLog, MockUsage, ServedCall
from modelmeter.mock.errors import error_body
from modelmeter.mock.http11 import HttpRequest, HttpResponse, HttpServer
from modelmeter.mock.knobs import HTTP_FAULTS, Knobs, knobs_from_headers
from modelmeter.mock.text import model_vendor
from modelmeter.mock.vendors import VENDORS, Route, Vendor

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_log = logging.getLogger(__name__)


@dataclass
class _Outcome:
    """What the dispatcher learned while serving one request, turned into a ServedCall once."""

    vendor: Vendor
    request: HttpRequest
    request_id: str | None
    started: float
    http_status: int = 0
    fault: str | None = None
    operation: str | None = None
    request_model: str | None = None
    streaming: bool = False
    answer: Answer | None = None
    usage: MockUsage | None = None
    wire_usage: dict[str, Any] | None = None
    cost: Decimal | None = None
    finish_reason: str | None = None
    content: str | None = None
    recorded: bool = False


def _ms(value: float | None) -> float:
    return (value or 0.0) / 1000.0


class MockProviders:
    """Local mock AI providers; use as a context manager (or call start/stop)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        port: int = 0,
        vendors: Iterable[str] | None = None,
        knobs: Knobs | None = None,
    ) -> None:
        names = list(vendors) if vendors is not None else list(VENDORS)
        unknown = [n for n in names if n not in VENDORS]
        if unknown:
            raise ValueError(f"unknown mock vendor(s) {unknown}; known: {', '.join(VENDORS)}")
        self.host = host
        self._first_port = port
        self._vendors = [VENDORS[n] for n in names]
        self._server_knobs = knobs or Knobs()
        self._lock = threading.Lock()
        self._configured: dict[str, Knobs] = {}
        self._tries: dict[str, int] = {}
        self._cached_prefixes: set[str] = set()
        self._served: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._log = CallLog()
        self._ports: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[HttpServer] = []

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> MockProviders:
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="modelmeter-mock", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start_servers(), loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    async def _start_servers(self) -> None:
        for index, vendor in enumerate(self._vendors):
            server = HttpServer(functools.partial(self._handle, vendor))
            port = self._first_port + index if self._first_port else 0
            self._ports[vendor.name] = await server.start(self.host, port)
            self._servers.append(server)

    async def _stop_servers(self) -> None:
        for server in self._servers:
            await server.stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop_servers(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None
        self._servers.clear()

    def __enter__(self) -> MockProviders:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- public view -----------------------------------------------------------------------
    @property
    def vendors(self) -> list[str]:
        return [v.name for v in self._vendors]

    def origin(self, vendor: str) -> str:
        """`http://host:port` of one vendor's server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._ports[vendor]}"

    def base_url(self, vendor: str) -> str:
        """What to pass to the vendor's SDK as its base URL."""
        return self.origin(vendor) + VENDORS[vendor].base_path

    @property
    def endpoints(self) -> str:
        """The MODELMETER_ENDPOINTS value that classifies these servers (`URL=KIND,...`)."""
        return ",".join(f"{self.origin(v.name)}={v.name}" for v in self._vendors)

    @property
    def calls(self) -> list[ServedCall]:
        return self._log.snapshot()

    def reset(self) -> None:
        """Forget served calls, per-vendor knobs, retry counters and cached prompt prefixes."""
        with self._lock:
            self._configured.clear()
            self._tries.clear()
            self._cached_prefixes.clear()
        self._log.clear()

    def configure(self, vendor: str, knobs: Knobs | None) -> None:
        """Default knobs for every request to `vendor` (None clears them)."""
        if vendor not in VENDORS:
            raise ValueError(f"unknown mock vendor {vendor!r}")
        with self._lock:
            if knobs is None:
                self._configured.pop(vendor, None)
            else:
                self._configured[vendor] = knobs

    # --- serving ---------------------------------------------------------------------------
    def _seen_prefix(self, key: str) -> bool:
        with self._lock:
            seen = key in self._cached_prefixes
            self._cached_prefixes.add(key)
            return seen

    def _count_try(self, key: str) -> int:
        with self._lock:
            tries = self._tries.get(key, 0)
            self._tries[key] = tries + 1
            return tries

    def _base_knobs(self, vendor: str) -> Knobs:
        with self._lock:
            configured = self._configured.get(vendor)
        return configured.over(self._server_knobs) if configured else self._server_knobs

    async def _handle(self, vendor: Vendor, request: HttpRequest, response: HttpResponse) -> None:
        started = time.time()
        seq = next(self._seq)
        with self._lock:
            served = self._served.get(vendor.name, 0)
            self._served[vendor.name] = served + 1
        request_id = f"{vendor.request_id_prefix}{seq:012d}" if vendor.request_id_prefix else None
        headers = [*vendor.extra_headers, *vendor.headers(request_id or "", served)]
        outcome = _Outcome(vendor, request, request_id, started)
        try:
            await self._serve(vendor, request, response, seq, headers, outcome)
        except (ConnectionError, asyncio.IncompleteReadError):
            response.keep_alive = False
        except Exception as error:  # a request the mock cannot answer must not take the server down
            _log.exception("mock %s failed on %s %s", vendor.name, request.method, request.path)
            if response.started:
                response.reset()
            else:
                message = f"mock could not answer: {type(error).__name__}: {error}"
                await self._send_error(response, vendor, vendor.errors, 500, headers, outcome, message)
        finally:
            self._record(outcome)

    async def _serve(
        self,
        vendor: Vendor,
        request: HttpRequest,
        response: HttpResponse,
        seq: int,
        headers: list[tuple[str, str]],
        outcome: _Outcome,
    ) -> None:
        route = vendor.match(request)
        if route is None:
            await self._send_error(
                response,
                vendor,
                vendor.errors,
                404,
                headers,
                outcome,
                f"No route for {request.method} {request.path}",
            )
            return
        outcome.operation = route.family.operation
        try:
            body = orjson.loads(request.body) if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            model = route.family.model_of(request, body) or ""
            knobs = knobs_from_headers(request.headers).over(self._base_knobs(vendor.name))
        except ValueError as error:
            await self._send_error(response, vendor, route.errors, 400, headers, outcome, str(error))
            return
        outcome.request_model = model or None
        outcome.streaming = route.family.streaming_of(request, body)

        routing = None
        if route.gateway is not None:
            chain = gateways.fallback_chain(route.gateway, body, model)
            routing = gateways.route(route.gateway, chain, set(knobs.fail_models or ()))
            if routing is None:
                await asyncio.sleep(_ms(knobs.latency_ms))
                outcome.fault = "fail_models"
                await self._send_error(
                    response,
                    vendor,
                    route.errors,
                    503,
                    headers,
                    outcome,
                    "All models in the fallback chain failed",
                )
                return

        fault = knobs.fault
        if knobs.fail_times is not None:
            key = hashlib.blake2b(
                b"%b\x1f%b\x1f%b" % (vendor.name.encode(), request.target.encode(), request.body)
            ).hexdigest()
            fault = (fault or "500") if self._count_try(key) < knobs.fail_times else None
        outcome.fault = fault

        await asyncio.sleep(_ms(knobs.latency_ms))
        if fault in HTTP_FAULTS:
            await self._send_error(
                response, vendor, route.errors, int(fault), headers, outcome, retry_after=knobs.retry_after
            )
            return
        if fault == "reset" and not outcome.streaming:
            self._record(outcome)
            response.reset()
            return

        ask = Ask(
            vendor=vendor.name,
            request=request,
            body=body,
            model=routing.served_model if routing else model,
            streaming=outcome.streaming,
            knobs=knobs,
            seq=seq,
            routing=routing,
            seen_prefix=self._seen_prefix,
        )
        answer = route.family.build(ask)
        outcome.answer = answer
        if outcome.streaming and answer.frames is not None:
            await self._send_stream(response, route, ask, answer, headers, outcome)
        else:
            await self._send_json(response, route, ask, answer, headers, outcome)

    async def _send_error(
        self,
        response: HttpResponse,
        vendor: Vendor,
        style: str,
        status: int,
        headers: list[tuple[str, str]],
        outcome: _Outcome,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        request_id = next((v for k, v in headers if k in ("request-id", "x-request-id")), None)
        payload = dumps(error_body(style, status, message, request_id=request_id, retry_after=retry_after))
        extra = [("content-type", "application/json")]
        if retry_after is not None:
            extra.append(("retry-after", str(max(1, round(retry_after))) if retry_after >= 1 else "1"))
            if vendor.sends_retry_after_ms:
                extra.append(("retry-after-ms", str(int(retry_after * 1000))))
        response.start(status, headers + extra, length=len(payload))
        response.write(payload)
        outcome.http_status = status
        self._record(outcome)
        await response.drain()

    async def _send_json(
        self,
        response: HttpResponse,
        route: Route,
        ask: Ask,
        answer: Answer,
        headers: list[tuple[str, str]],
        outcome: _Outcome,
    ) -> None:
        knobs = ask.knobs
        await asyncio.sleep(_ms(knobs.ttft_ms) + _ms(knobs.chunk_delay_ms) * max(0, ask.chunks - 1))
        fault = outcome.fault
        headers = [*headers, ("content-type", "application/json")]
        outcome.http_status = 200
        if fault == "error_after_200":
            payload = dumps(route.family.error_in_200(ask))
            outcome.finish_reason = "error" if route.gateway == "openrouter" else None
        else:
            payload = dumps(answer.body)
        if fault == "malformed":
            payload = payload[: len(payload) // 2]
        if fault is None:
            outcome.usage, outcome.wire_usage, outcome.cost = (
                answer.usage,
                answer.wire_usage,
                answer.reported_cost_usd,
            )
            outcome.finish_reason, outcome.content = answer.finish_reason, answer.content
        if fault == "cut":
            response.start(200, headers, length=len(payload))
            response.write(payload[: len(payload) // 2])
            self._record(outcome)
            response.close()
            return
        response.start(200, headers, length=None if knobs.gzip else len(payload), gzip=bool(knobs.gzip))
        response.write(payload)
        self._record(outcome)
        if knobs.gzip:
            response.finish()
        await response.drain()

    async def _send_stream(
        self,
        response: HttpResponse,
        route: Route,
        ask: Ask,
        answer: Answer,
        headers: list[tuple[str, str]],
        outcome: _Outcome,
    ) -> None:
        frames = answer.frames or []
        fault = outcome.fault
        outputs = [i for i, frame in enumerate(frames) if frame.output]
        stop_at = outputs[(len(outputs) + 1) // 2 - 1] + 1 if outputs else len(frames) // 2
        plan: list[Frame] = frames
        if fault in ("error_after_200", "cut", "reset"):
            plan = frames[:stop_at]
            if fault == "error_after_200":
                plan = [*plan, Frame(route.family.stream_error(ask))]
        elif fault == "malformed":
            victim = stop_at if stop_at < len(frames) and not frames[stop_at].terminal else outputs[-1]
            plan = [*frames[:victim], Frame(_break(frames[victim].data)), *frames[victim + 1 :]]

        headers = [*headers, ("content-type", answer.content_type), ("cache-control", "no-cache")]
        response.start(200, headers, gzip=bool(ask.knobs.gzip))
        outcome.http_status = 200
        first_output = True
        text: list[str] = []
        for frame in plan:
            if frame.output:
                delay = ask.knobs.ttft_ms if first_output else ask.knobs.chunk_delay_ms
                first_output = False
                if delay:
                    await response.drain()
                    await asyncio.sleep(delay / 1000.0)
                text.append(frame.text)
            response.write(frame.data)
            if frame.usage is not None:
                outcome.usage, outcome.wire_usage = frame.usage, frame.wire_usage
            if frame.cost is not None:
                outcome.cost = frame.cost
        outcome.content = "".join(text)
        if fault == "error_after_200":
            outcome.finish_reason = "error" if route.gateway == "openrouter" else None
        elif fault not in ("cut", "reset"):
            outcome.finish_reason = answer.finish_reason
        if fault == "reset":
            await response.drain()
            self._record(outcome)
            response.reset()
            return
        self._record(outcome)
        response.finish()
        if fault == "cut":
            response.close()
        await response.drain()

    def _record(self, outcome: _Outcome) -> None:
        """Append the ServedCall (once per request)."""
        if outcome.recorded:
            return
        outcome.recorded = True
        vendor, request, answer = outcome.vendor, outcome.request, outcome.answer
        retry = request.headers.get("x-stainless-retry-count")
        self._log.append(
            ServedCall(
                vendor=vendor.name,
                method=request.method,
                path=request.path,
                operation=outcome.operation,
                request_model=outcome.request_model,
                response_model=answer.response_model if answer else None,
                provider=answer.provider
                if answer
                else (model_vendor(outcome.request_model) if outcome.request_model else None),
                served_by=answer.served_by if answer else None,
                streaming=outcome.streaming,
                http_status=outcome.http_status,
                fault=outcome.fault,
                request_id=outcome.request_id,
                response_id=answer.response_id if answer else None,
                finish_reason=outcome.finish_reason,
                usage=outcome.usage,
                wire_usage=outcome.wire_usage,
                reported_cost_usd=outcome.cost,
                retry_count=int(retry) if retry and retry.isdigit() else None,
                user_agent=request.headers.get("user-agent"),
                started_at=outcome.started,
                finished_at=time.time(),
                content=outcome.content,
                byok=answer.byok if answer else False,
            )
        )


def _break(data: bytes) -> bytes:
    """The same SSE event with its JSON cut in half, so the client's parser fails on it."""
    head, mark, payload = data.partition(b"data: ")
    if not mark:
        return data[: len(data) // 2] + b"\n\n"
    body = payload.rstrip(b"\r\n")
    return head + mark + body[: max(1, len(body) // 2)] + b"\n\n"
