"""`modelmeter serve`: the OTLP/HTTP receiver (modelmeter.ingest.server) as a command."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import typer

from modelmeter.cli import exits

TOKEN_ENV = "MODELMETER_SERVE_TOKEN"


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Address to bind; beyond loopback a token is required."
        ),
        port: int = typer.Option(
            4318, "--port", min=0, max=65535, help="Port (4318 is the OTLP/HTTP default)."
        ),
        token: str | None = typer.Option(
            None, "--token", envvar=TOKEN_ENV, help=f"Bearer token clients must send (or {TOKEN_ENV})."
        ),
        spool: Path | None = typer.Option(
            None, "--spool", help="Spool directory (default: MODELMETER_SPOOL)."
        ),
        max_bytes: int = typer.Option(
            16 * 1024 * 1024,
            "--max-bytes",
            min=1,
            help="Largest request body accepted (also once decompressed).",
        ),
        rotate_bytes: int = typer.Option(
            64 * 1024 * 1024,
            "--rotate-bytes",
            min=1,
            envvar="MODELMETER_SPOOL_ROTATE_BYTES",
            help="Seal a spool file once it is this large.",
        ),
        rotate_seconds: float = typer.Option(
            10.0,
            "--rotate-seconds",
            min=0.01,
            envvar="MODELMETER_SPOOL_ROTATE_SECONDS",
            help="Seal a spool file once it is this old.",
        ),
    ) -> None:
        """Receive OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip) into the spool.

        Answers 200 only once the data is fsynced, 503 with Retry-After when it cannot be (e.g. a
        full disk); `modelmeter ingest` then loads it. Spool files other processes left open are
        sealed on start. SIGTERM or Ctrl-C seals the current file and exits.

        Exit code: 0 stopped by a signal; 1 cannot listen (e.g. the port is taken); 64 a bad option, or
        an address beyond loopback without a token.

        Example: modelmeter serve --port 4318   (then OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318)
        """
        from modelmeter.ingest.server import check_bind
        from modelmeter.ingest.server import serve as run_server
        from modelmeter.ingest.store import default_spool_dir

        try:
            check_bind(host, token)
        except PermissionError as exc:
            raise exits.usage("serve", str(exc)) from exc
        spool_dir = spool or default_spool_dir()
        logging.basicConfig(level=logging.INFO, format="modelmeter serve: %(message)s")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        ready = threading.Event()
        threading.Thread(target=_announce, args=(ready, host, port, spool_dir), daemon=True).start()
        try:
            run_server(
                host,
                port,
                spool_dir,
                token=token,
                max_bytes=max_bytes,
                rotate_bytes=rotate_bytes,
                rotate_seconds=rotate_seconds,
                ready=ready,
                stop=stop,
            )
        except OSError as exc:
            problem = f"cannot use {exc.filename}" if exc.filename else f"cannot listen on {host}:{port}"
            raise exits.fail("serve", f"{problem}: {exc.strerror or exc}", exits.FAILED) from exc


def _announce(ready: threading.Event, host: str, port: int, spool_dir: Path) -> None:
    if ready.wait(30):
        typer.echo(
            f"listening on http://{host}:{port}/v1/traces, spooling to {spool_dir} (pid {os.getpid()})"
        )
