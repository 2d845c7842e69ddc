"""The run catalogue: which input files were processed, by which run, with what outcome.

Stored in an embedded DuckDB database, ``state.duckdb`` in the config's state folder
(:mod:`pipeline.locations`; owner-only: the folder 0700, the files 0600). A file is identified
by its path *and* SHA-256, so a new file dropped into a source folder is processed once, and a
file whose content changed is processed again. Connections are opened per call and closed, so
the database is never held open between stages (DuckDB allows one writing process).

Each delivered file also keeps its *stamp* (device, inode, size and the modification and
status-change times in nanoseconds) from when its SHA-256 was read from its bytes. A later run
takes that SHA-256 again only for a file whose stamp is unchanged, to find it already
delivered (:func:`pipeline.runner.run_pipeline`): rewriting a file's bytes changes its
status-change time, which no user call can set back. Every file a run processes is hashed from
its bytes, so the digests the audit log records never come from a stamp.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.atomic import PRIVATE_FILE, private_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    run_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (path, sha256)
);
ALTER TABLE files ADD COLUMN IF NOT EXISTS stamp VARCHAR;
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    config_sha256 VARCHAR NOT NULL
);
"""

FILE_STATUSES = ("processing", "delivered")


def _owner_only(database: Path) -> None:
    """DuckDB creates its files with the process umask: narrow them (and its WAL) to 0600."""
    for path in (database, database.with_name(database.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, PRIVATE_FILE)


@dataclass(frozen=True)
class FileRecord:
    """One input file as seen by a run."""

    source: str
    path: str
    sha256: str
    size: int
    stamp: str | None = None  # file_stamp() taken before its bytes were hashed


def file_stamp(path: str | os.PathLike[str]) -> str:
    """What the file system says of a file: device, inode, size, modification and
    status-change times (ns). Equal stamps: the bytes were not rewritten in between."""
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class StateCatalogue:
    """Access to ``state.duckdb``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        private_dir(self.path.parent)
        con = duckdb.connect(str(self.path))
        try:
            _owner_only(self.path)
            con.execute(_SCHEMA)
            yield con
        finally:
            con.close()
            _owner_only(self.path)

    def delivered(self, files: list[FileRecord]) -> set[tuple[str, str]]:
        """(path, sha256) pairs among ``files`` that an earlier run already delivered."""
        if not files:
            return set()
        with self._connect() as con:
            rows = con.execute(
                "SELECT path, sha256 FROM files WHERE status = 'delivered'"
            ).fetchall()
        done = {(str(p), str(s)) for p, s in rows}
        return {(f.path, f.sha256) for f in files} & done

    def delivered_stamps(self) -> dict[str, tuple[str, str]]:
        """Path -> (stamp, SHA-256) of the delivered files whose stamp is known."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT path, stamp, sha256 FROM files"
                " WHERE status = 'delivered' AND stamp IS NOT NULL"
            ).fetchall()
        return {str(p): (str(st), str(sha)) for p, st, sha in rows}

    def record_stamps(self, files: list[FileRecord]) -> None:
        """Keep the stamps of ``files`` (hashed from their bytes) where the catalogue holds
        them delivered with the same SHA-256."""
        stamped = [(f.stamp, f.path, f.sha256) for f in files if f.stamp is not None]
        if not stamped:
            return
        with self._connect() as con:
            con.executemany(
                "UPDATE files SET stamp = ? WHERE path = ? AND sha256 = ? AND status = 'delivered'",
                stamped,
            )

    def start_run(self, run_id: str, config_sha256: str, files: list[FileRecord]) -> None:
        """Record a run and its files as in progress (a rerun of the same id starts again)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connect() as con:
            con.execute("BEGIN")
            con.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, 'running', ?, NULL, ?)",
                [run_id, now, config_sha256],
            )
            for f in files:
                con.execute(
                    "INSERT OR REPLACE INTO files"
                    " (source, path, sha256, size, run_id, status, recorded_at, stamp)"
                    " VALUES (?, ?, ?, ?, ?, 'processing', ?, ?)",
                    [f.source, f.path, f.sha256, f.size, run_id, now, f.stamp],
                )
            con.execute("COMMIT")

    def finish_run(self, run_id: str) -> None:
        """Mark a run and all its files delivered, in one transaction."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connect() as con:
            con.execute("BEGIN")
            con.execute(
                "UPDATE runs SET status = 'delivered', finished_at = ? WHERE run_id = ?",
                [now, run_id],
            )
            con.execute(
                "UPDATE files SET status = 'delivered', recorded_at = ? WHERE run_id = ?",
                [now, run_id],
            )
            con.execute("COMMIT")

    def unfinished(self) -> list[str]:
        """IDs of runs started but never recorded as delivered (killed, or failed)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT run_id FROM runs WHERE status <> 'delivered' ORDER BY run_id"
            ).fetchall()
        return [str(run_id) for (run_id,) in rows]

    def files(self) -> list[dict[str, object]]:
        """Every catalogued file (for reports and tests)."""
        with self._connect() as con:
            cursor = con.execute(
                "SELECT source, path, sha256, size, run_id, status FROM files ORDER BY path"
            )
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def runs(self) -> list[dict[str, object]]:
        """Every catalogued run, oldest first."""
        with self._connect() as con:
            cursor = con.execute(
                "SELECT run_id, status, started_at, finished_at FROM runs ORDER BY started_at"
            )
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
