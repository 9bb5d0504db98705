"""Where a lake lives: a local directory or `s3://bucket/prefix`, behind one small file API.

Local writes go to a hidden temporary file beside the target and are renamed over it, so a reader
sees a whole file or none; an S3 PUT is atomic per object already. For `s3://` the filesystem is
pyarrow's S3 client (pyarrow is a dependency already), configured the standard way
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL for an
S3-compatible server such as MinIO), seen through fsspec's wrapper so that DuckDB reads and writes
through it once registered: DuckDB's httpfs extension is not needed. (s3fs would do as well, but it
brings aiohttp, and with aiohttp installed google-genai's async client leaves httpx, which the shim
observes.)
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

S3 = "s3://"


class LakeError(ValueError):
    """A lake URI or lake content that cannot be used (one line for the user)."""


@functools.cache
def s3_filesystem() -> AbstractFileSystem:
    """One S3 filesystem per process (creating one sets up a client: slow)."""
    try:
        from fsspec.implementations.arrow import ArrowFSWrapper
    except ImportError as exc:
        raise LakeError("s3:// needs fsspec: pip install 'modelmeter[lake]'") from exc
    from pyarrow.fs import S3FileSystem

    class S3(ArrowFSWrapper):
        protocol = "s3"  # DuckDB sends s3:// paths to a registered filesystem of this protocol
        root_marker = ""

    options = {
        "endpoint_override": os.environ.get("AWS_ENDPOINT_URL"),
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    }
    return S3(S3FileSystem(**{k: v for k, v in options.items() if v}))


@dataclass(frozen=True)
class Lake:
    """A lake's root; paths inside it are relative strings such as `calls/day=2026-11-02/x.parquet`."""

    root: str  # a local directory (absolute) or s3://bucket/prefix (no trailing slash)

    @staticmethod
    def at(uri: str | Path) -> Lake:
        text = str(uri).rstrip("/")
        if text.startswith(S3):
            if len(text) <= len(S3):
                raise LakeError(f"{uri!r} names no bucket: use s3://bucket/prefix")
            return Lake(text)
        if "://" in text:
            raise LakeError(f"unsupported lake URI {uri!r}: use a directory or s3://bucket/prefix")
        return Lake(str(Path(text).resolve()))

    @property
    def remote(self) -> bool:
        return self.root.startswith(S3)

    def url(self, relative: str) -> str:
        """The path DuckDB (and Spark, for a local lake) opens."""
        return f"{self.root}/{relative}"

    def files(self, relative: str, suffix: str = ".parquet") -> list[str]:
        """Relative paths of the files under `relative` ending in `suffix`, sorted; none if absent."""
        base = self.url(relative)
        if self.remote:
            fs = self._fs()
            found = [f"{S3}{p}" for p in fs.find(base[len(S3) :])]
        else:
            found = [str(p) for p in Path(base).rglob("*") if p.is_file()] if Path(base).is_dir() else []
        names = [f[len(self.root) + 1 :] for f in found if f.endswith(suffix)]
        return sorted(n for n in names if not any(part.startswith(".") for part in n.split("/")))

    def versions(self, relatives: list[str]) -> dict[str, str]:
        """Size and modification time of each file: what changes when it is replaced."""
        if not self.remote:
            stats = {r: Path(self.url(r)).stat() for r in relatives}
            return {r: f"{st.st_size}:{st.st_mtime_ns}" for r, st in stats.items()}
        fs = self._fs()
        found: dict[str, str] = {}
        for folder in sorted({r.rsplit("/", 1)[0] for r in relatives}):
            for key, info in fs.find(self.url(folder)[len(S3) :], detail=True).items():
                found[f"{S3}{key}"[len(self.root) + 1 :]] = f"{info.get('size')}:{info.get('mtime')}"
        return {r: found.get(r, "missing") for r in relatives}

    def put(self, local: Path, relative: str) -> None:
        """Copy a finished local file to `relative`, replacing what is there in one step."""
        target = self.url(relative)
        if self.remote:
            self._fs().put_file(str(local), target[len(S3) :])
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        hidden = Path(target).with_name(f".{uuid.uuid4().hex}.tmp")
        shutil.copyfile(local, hidden)
        os.replace(hidden, target)

    def remove(self, relatives: list[str]) -> None:
        if not relatives:
            return
        if self.remote:
            for relative in relatives:
                self._fs().rm_file(self.url(relative)[len(S3) :])
            return
        for relative in relatives:
            Path(self.url(relative)).unlink(missing_ok=True)

    def connect(self, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB in UTC that can read and write this lake."""
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{memory_limit}'")
        if self.remote:
            con.register_filesystem(self._fs())
        return con

    def _fs(self) -> AbstractFileSystem:
        return s3_filesystem()
