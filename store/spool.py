"""A local spool for job outcomes the database could not take, replayed when it returns.

Each outcome is one JSON file written atomically (write to a temporary name, fsync, rename),
so a crash never leaves half a record.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobprobe.store import errors

log = logging.getLogger(__name__)


class Spool:
    """Outcomes waiting for the database, one file per job under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, job_id: str, payload: Mapping[str, Any]) -> Path:
        """Keep ``payload`` for ``job_id`` until it can be written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{job_id}.json"
        tmp = final.with_suffix(".tmp")
        with tmp.open("w") as fh:
            json.dump(dict(payload), fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)
        return final

    def pending(self) -> list[Path]:
        """Spooled outcomes, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime)

    def replay(self, write: Callable[[str, dict[str, Any]], None]) -> int:
        """Write each spooled outcome with ``write(job_id, payload)``; stop at the first outage.

        Returns how many were written (and removed from the spool).
        """
        done = 0
        for path in self.pending():
            payload = json.loads(path.read_text())
            try:
                write(path.stem, payload)
            except errors.StoreUnavailable:
                log.info(
                    "database still unavailable; %d outcome(s) stay spooled", len(self.pending())
                )
                break
            path.unlink()
            done += 1
        return done
