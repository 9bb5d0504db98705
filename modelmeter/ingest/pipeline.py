"""`ingest_paths`: files in, calls out; and `reprice`.

Files are read whole and committed in batches: a batch's rows, its `ingested_files` rows and its
quarantine rows land in one transaction, so a crash (even kill -9) leaves the database as it was
before the batch, and the next run picks the batch up again. A file already recorded with the same
size and content hash is skipped; a span already stored is dropped by the anti-join in load.py.
Spool files still being written end in `.open` and are never read; those whose writer is gone are
sealed first (spoolfile.recover), their torn tails quarantined.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from modelmeter import spoolfile
from modelmeter.ingest import otlp, pricing, records
from modelmeter.ingest.fold import fold_foreign
from modelmeter.ingest.load import Loader
from modelmeter.ingest.store import (
    damage_reported,
    default_home,
    default_spool_dir,
    open_store,
    private_files,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_QUARANTINED = 3
_SNIFF_BYTES = 64 * 1024
_HASH_SAMPLE = 1024 * 1024


@dataclass
class IngestSummary:
    """What one `ingest` run did; the CLI prints it and derives the exit code from it."""

    files: int = 0  # files read
    files_skipped: int = 0  # already ingested (same size and content hash)
    spans: int = 0  # spans read, GenAI or not
    calls_added: int = 0
    duplicates: int = 0  # spans already stored (or twice in the input)
    ignored: int = 0  # spans that are not GenAI calls
    quarantined: int = 0  # bad lines, records or spans, kept in the `quarantine` table
    not_recorded: int = 0  # calls the shim counted as dropped (the `dropped` table)

    @property
    def exit_code(self) -> int:
        return EXIT_QUARANTINED if self.quarantined else EXIT_OK


@dataclass
class _FileResult:
    path: Path
    size: int
    content_hash: str
    spans: int = 0
    quarantine: list[records.Quarantined] = field(default_factory=list)


def default_prices_path() -> Path:
    return default_home() / "prices.toml"


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files to read: given files as they are; directories walked, skipping open spool files,
    hidden files and spool quarantine directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not p.name.endswith(spoolfile.OPEN_SUFFIX)
                and not p.name.startswith(".")
                and spoolfile.QUARANTINE_DIR not in p.relative_to(path).parts[:-1]
            )
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return found


def recover_open_files(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """Seal the spool files in these directories that writers now gone left `.open`; returns
    (sealed file, reason) per torn tail (its bytes are kept in the spool's quarantine directory)."""
    torn = []
    for path in paths:
        if not path.is_dir():
            continue
        directories = {p.parent for p in path.rglob("*" + spoolfile.OPEN_SUFFIX)}
        for directory in sorted(directories):
            for found in spoolfile.recover(directory):
                if found.torn_at is not None:
                    reason = (
                        f"torn tail at byte {found.torn_at}: its writer died mid-record; "
                        f"the bytes are kept in {found.torn_copy}"
                    )
                    torn.append((str(found.path or found.torn_copy), reason))
    return torn


def _estimate_lines(head: bytes, size: int) -> int:
    """Lines of a file from its first bytes: enough to size a batch, without reading the file twice."""
    if not head:
        return 0
    lines_in_head = max(head.count(b"\n"), 1)
    return lines_in_head if len(head) >= size else round(size * lines_in_head / len(head))


def content_hash(path: Path, size: int) -> str:
    """sha256 of the size and the first and last MiB: spool and export files never change once closed."""
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_HASH_SAMPLE))
        if size > 2 * _HASH_SAMPLE:
            handle.seek(size - _HASH_SAMPLE)
            digest.update(handle.read(_HASH_SAMPLE))
        elif size > _HASH_SAMPLE:
            digest.update(handle.read())
    return digest.hexdigest()


@private_files()
def ingest_paths(
    paths: Sequence[Path] | None,
    db_path: Path,
    *,
    prices_path: Path | None = None,
    batch_spans: int = 250_000,
    on_file: Callable[[Path, int], None] | None = None,
) -> IngestSummary:
    """Ingest spool directories, record files and OTLP files into the database at `db_path`."""
    roots = paths if paths else [default_spool_dir()]
    torn = recover_open_files(roots)
    files = discover(roots)
    overrides = pricing.load_overrides(prices_path or default_prices_path())
    summary = IngestSummary()
    with damage_reported(db_path):
        con = open_store(db_path)
        try:
            loader = Loader(con, overrides)
            with tempfile.TemporaryDirectory(prefix="modelmeter-ingest-") as scratch:
                ingestor = _Ingestor(con, loader, Path(scratch), summary)
                ingestor.torn = torn
                for path in files:
                    ingestor.add(path)
                    if ingestor.staged_spans >= batch_spans:
                        ingestor.commit()
                    if on_file:
                        on_file(path, path.stat().st_size)
                ingestor.commit()
        finally:
            con.close()
    return summary


class _Ingestor:
    """Stages files until a batch is full, then commits the batch in one transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, loader: Loader, scratch: Path, summary: IngestSummary):
        self.con, self.loader, self.scratch, self.summary = con, loader, scratch, summary
        self.pending: list[_FileResult] = []
        self.record_files: list[_FileResult] = []
        self.staged_spans = 0
        self._scratch_files = 0
        self.torn: list[tuple[str, str]] = []  # torn tails of recovered files, for the next commit

    def add(self, path: Path) -> None:
        size = path.stat().st_size
        result = _FileResult(path, size, content_hash(path, size))
        if self._seen(result) or any(p.content_hash == result.content_hash for p in self.pending):
            self.summary.files_skipped += 1
            return
        self.summary.files += 1
        self.pending.append(result)
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if head.startswith(otlp.GZIP_MAGIC):
            try:
                raw = otlp.decompress(path.read_bytes())
            except otlp.PayloadError as exc:
                result.quarantine.append(records.Quarantined(None, str(exc), None))
                return
            if records.looks_like_records(raw[:_SNIFF_BYTES]):
                self._stage_carefully(result, raw)
            else:
                self._stage_otlp(result, raw)
        elif records.looks_like_records(head):
            self.record_files.append(result)  # staged together, at commit
            self.staged_spans += _estimate_lines(head, size)
        else:
            self._stage_otlp(result, path.read_bytes())

    def _seen(self, result: _FileResult) -> bool:
        row = self.con.execute(
            "SELECT 1 FROM ingested_files WHERE content_hash = ? AND size = ? LIMIT 1",
            [result.content_hash, result.size],
        ).fetchone()
        return row is not None

    def _scratch(self) -> Path:
        self._scratch_files += 1
        return self.scratch / f"{self._scratch_files}.ndjson"

    def _stage_record_files(self) -> None:
        """The fast path: one read_json for all record files; files DuckDB rejects go the careful way."""
        queued, self.record_files = self.record_files, []
        if not queued:
            return
        try:
            self.loader.stage_record_files([r.path for r in queued])
            rejected = self.loader.files_with_invalid_rows()
        except duckdb.Error:
            rejected = set()
            for result in queued:
                try:
                    self.loader.stage_record_files([result.path])
                except duckdb.Error:
                    rejected.add(str(result.path))
            rejected |= self.loader.files_with_invalid_rows()
        for result in queued:
            if str(result.path) in rejected:
                self.loader.unstage(str(result.path))
                self._stage_carefully(result, otlp.decompress(result.path.read_bytes()))
        staged = self.loader.staged_per_file()
        for result in queued:
            result.spans = staged.get(str(result.path), 0) + len(result.quarantine)

    def _stage_carefully(self, result: _FileResult, raw: bytes) -> None:
        """Line by line: bad lines to quarantine with their number and reason, good ones staged."""
        clean = self._scratch()
        _, result.quarantine = records.clean_copy(raw, clean)
        staged = self.loader.stage_ndjson(clean, str(result.path))
        result.spans = staged + len(result.quarantine)
        self.staged_spans += staged

    def _stage_otlp(self, result: _FileResult, raw: bytes) -> None:
        try:
            parts = list(otlp.iter_parts(raw))
        except otlp.PayloadError as exc:
            result.quarantine.append(records.Quarantined(None, str(exc), None))
            return
        found: list[dict[str, Any]] = []
        for part in parts:
            if part.decoded is None:
                result.quarantine.append(
                    records.Quarantined(part.where, part.error or "undecodable", part.excerpt)
                )
                continue
            result.quarantine += [
                records.Quarantined(part.where, reason, None) for reason in part.decoded.rejected
            ]
            result.spans += len(part.decoded.spans) + len(part.decoded.rejected)
            for span in part.decoded.spans:
                try:
                    record = records.record_of_span(span)
                except records.Rejected as exc:  # quarantined, never fatal
                    result.quarantine.append(records.Quarantined(part.where, str(exc), None))
                    continue
                if record is None:
                    self.summary.ignored += 1
                else:
                    found.append(record)
        fold_foreign(found)
        clean = self._scratch()
        records.write_records(found, clean)
        self.staged_spans += self.loader.stage_ndjson(clean, str(result.path))

    def commit(self) -> None:
        if not self.pending and not self.torn:
            return
        self._stage_record_files()
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            counts = self.loader.commit_staged()
            for result in self.pending:
                con.execute(
                    "INSERT INTO ingested_files (path, size, content_hash, spans, spans_new, quarantined) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        str(result.path),
                        result.size,
                        result.content_hash,
                        result.spans,
                        counts.per_file_new.get(str(result.path), 0),
                        len(result.quarantine),
                    ],
                )
                if result.quarantine:
                    con.executemany(
                        "INSERT INTO quarantine (path, line, reason, excerpt) VALUES (?, ?, ?, ?)",
                        [(str(result.path), q.line, q.reason, q.excerpt) for q in result.quarantine],
                    )
            if self.torn:
                con.executemany("INSERT INTO quarantine (path, reason) VALUES (?, ?)", self.torn)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.summary.spans += sum(r.spans for r in self.pending)
        self.summary.quarantined += sum(len(r.quarantine) for r in self.pending) + len(self.torn)
        self.torn = []
        self.summary.duplicates += counts.duplicates
        self.summary.calls_added += counts.calls_added
        self.summary.not_recorded += counts.dropped
        self.pending = []
        self.staged_spans = 0
        for scratch_file in self.scratch.iterdir():
            scratch_file.unlink()


@dataclass
class RepriceSummary:
    calls: int
    unpriced: int


@private_files()
def reprice(
    db_path: Path, *, since: datetime | None = None, prices_path: Path | None = None
) -> RepriceSummary:
    """Recompute stored cost estimates with today's price data and overrides, one columnar UPDATE."""
    overrides = pricing.load_overrides(prices_path or default_prices_path())
    with damage_reported(db_path):
        con = open_store(db_path)
        try:
            loader = Loader(con, overrides)
            since_ns = None if since is None else int(since.timestamp()) * 10**9 + since.microsecond * 1000
            con.execute("BEGIN TRANSACTION")
            try:
                calls = loader.reprice(since_ns)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            row = con.execute("SELECT count(*) FROM calls WHERE cost_usd IS NULL").fetchone()
            return RepriceSummary(calls, int(row[0]) if row else 0)
        finally:
            con.close()
