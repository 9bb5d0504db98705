"""`modelmeter serve` as a real process for tests: start it, talk to it, stop or kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from support.ingest import cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """A running `modelmeter serve` spooling into `spool` (stderr kept in a file, read by `log()`)."""

    def __init__(self, spool: Path, *args: str, port: int | None = None, max_bytes: int = 200_000) -> None:
        self.spool = spool
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1/traces"
        self._log = spool.parent / f"serve-{self.port}-{time.monotonic_ns()}.log"
        env = {**os.environ, "MODELMETER_SPOOL": str(spool)}
        command = [cli(), "serve", "--port", str(self.port), "--max-bytes", str(max_bytes), *args]
        with self._log.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError as refused:
                if self.process.poll() is not None:
                    raise RuntimeError(self.log()) from refused
                time.sleep(0.05)
        raise RuntimeError("serve did not start")

    def log(self) -> str:
        return self._log.read_text()

    def stop(self, timeout: float = 20) -> float:
        """SIGTERM; returns how long it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=20)

    def rss_kib(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)
