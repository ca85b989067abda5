"""A local spool for job outcomes the database could not take, replayed when it returns.

Each outcome is one JSON file written atomically (write to a temporary name, fsync, rename),
so a crash never leaves half a record. Outcomes are made storable before they are kept
(``store.storable``).

Replay is safe with several replayers at once: a replayer claims an entry by renaming it to
``<job id>.json.<pid>.replaying`` (one rename wins), so each outcome is written once. An entry
left claimed by a replayer that died is taken back. An entry that can never be written (the
store refuses it for good, or it is not readable) is set aside in ``failed/`` with a
``.reason`` file beside it, and its job is ended ``failed`` with that reason: it never blocks
the entries after it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobprobe.store import errors, storable

log = logging.getLogger(__name__)

_CLAIMED = ".replaying"


class Spool:
    """Outcomes waiting for the database, one file per job under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def failed_dir(self) -> Path:
        """Where entries that can never be written are set aside, each with its reason."""
        return self.directory / "failed"

    def put(self, job_id: str, payload: Mapping[str, Any]) -> Path:
        """Keep ``payload`` for ``job_id`` until it can be written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{job_id}.json"
        tmp = self.directory / f"{job_id}.{os.getpid()}.tmp"
        with tmp.open("w") as fh:
            json.dump(storable.clean_payload(payload), fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)
        return final

    def pending(self) -> list[Path]:
        """Spooled outcomes not claimed by a live replayer, oldest first (claims of dead
        replayers are taken back first)."""
        if not self.directory.is_dir():
            return []
        self._release_dead_claims()
        found: list[tuple[float, str, Path]] = []
        for path in self.directory.glob("*.json"):
            try:
                found.append((path.stat().st_mtime, path.name, path))
            except FileNotFoundError:  # claimed by another replayer meanwhile
                continue
        return [path for _, _, path in sorted(found)]

    def set_aside(self) -> list[Path]:
        """Entries set aside because they can never be written."""
        return sorted(self.failed_dir.glob("*.json")) if self.failed_dir.is_dir() else []

    def replay(self, write: Callable[[str, dict[str, Any]], None]) -> int:
        """Write each spooled outcome with ``write(job_id, payload)``; stop at the first outage.

        Returns how many were written (and removed from the spool). An entry the store
        refuses for good is set aside and its job failed with the reason instead
        (``storable.write_or_fail``); it counts as written when the failure was.
        """
        done = 0
        for path in self.pending():
            claimed = self._claim(path)
            if claimed is None:
                continue  # another replayer has it
            job_id = path.name.removesuffix(".json")
            try:
                payload = json.loads(claimed.read_text())
                if not isinstance(payload, dict):
                    raise ValueError("the entry is not a JSON object")
            except (OSError, ValueError) as exc:
                self._set_aside(claimed, path.name, f"unreadable spool entry: {exc}")
                self._fail_job(write, job_id, {}, f"its spooled outcome is unreadable: {exc}")
                continue
            try:
                refused = storable.write_or_fail(functools.partial(write, job_id), job_id, payload)
            except errors.StoreUnavailable:
                claimed.replace(path)  # back in the spool for the next replay
                log.info(
                    "database still unavailable; %d outcome(s) stay spooled", len(self.pending())
                )
                break
            except Exception as exc:  # any other failure is this entry's: it must not block
                self._set_aside(claimed, path.name, f"{type(exc).__name__}: {exc}")
                self._fail_job(write, job_id, payload, str(exc))
                continue
            if refused is not None:
                self._set_aside(claimed, path.name, f"the store refused it ({refused}); job failed")
            else:
                claimed.unlink()
            done += 1
        return done

    def _claim(self, path: Path) -> Path | None:
        claimed = path.with_name(f"{path.name}.{os.getpid()}{_CLAIMED}")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None
        return claimed

    def _release_dead_claims(self) -> None:
        for claimed in self.directory.glob(f"*.json.*{_CLAIMED}"):
            name, _, pid = claimed.name.removesuffix(_CLAIMED).rpartition(".")
            if not pid.isdigit() or _alive(int(pid)):
                continue
            try:
                claimed.rename(self.directory / name)
            except FileNotFoundError:  # another replayer took it back first
                continue
            log.info("took back spooled outcome %s from dead replayer %s", name, pid)

    def _set_aside(self, claimed: Path, name: str, reason: str) -> None:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        (self.failed_dir / f"{name}.reason").write_text(storable.text(reason) + "\n")
        claimed.replace(self.failed_dir / name)
        log.warning("spooled outcome %s set aside in %s: %s", name, self.failed_dir, reason)

    @staticmethod
    def _fail_job(
        write: Callable[[str, dict[str, Any]], None],
        job_id: str,
        payload: Mapping[str, Any],
        reason: str,
    ) -> None:
        try:
            write(job_id, storable.failed_payload(payload, reason))
        except errors.StoreError as exc:  # e.g. the job is gone: the entry stays set aside
            log.warning("job %s could not be marked failed: %s", job_id, exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
