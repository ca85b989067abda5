"""The schema check is made once per database, not once per command.

A stamp file under the data directory remembers that a database's schema is at the head
revision; a later process that finds it opens the store without a catalog query and without
importing Alembic. A stamp that outlived its database is noticed and dropped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobprobe.store import db, errors, job_reads, schema_stamp
from jobprobe.store.db import Store
from tests import services

ROOT = Path(__file__).resolve().parents[3]

# Opens a store in a fresh interpreter and prints whether Alembic was imported.
OPEN_AND_REPORT = """
import sys
from pathlib import Path
from jobprobe.store.db import Store
from jobprobe.store import job_reads
store = Store(sys.argv[1], schema_stamp_dir=Path(sys.argv[2]))
with store.reader() as reader:
    job_reads.job_history(reader, limit=1)
print("alembic" if "alembic" in sys.modules else "no-alembic")
"""


def open_in_new_process(url: str, stamp_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", OPEN_AND_REPORT, url, str(stamp_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_head_revision_is_alembics_head_and_files_follow_the_naming_rule() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(schema_stamp.MIGRATIONS_DIR))
    assert schema_stamp.head_revision() == script.get_current_head()
    for path in (schema_stamp.MIGRATIONS_DIR / "versions").glob("*.py"):
        revision = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", path.read_text(), re.M)
        assert revision is not None, path
        assert path.name.startswith(f"{revision.group(1)}_"), path


def test_a_stamped_sqlite_store_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jp.db'}"
    stamps = tmp_path / "schema"
    assert open_in_new_process(url, stamps) == "alembic"  # first open: checks, creates
    stamp = schema_stamp.stamp_path(stamps, url)
    assert stamp.read_text().strip() == schema_stamp.head_revision()
    assert open_in_new_process(url, stamps) == "no-alembic"


def test_a_deleted_sqlite_file_is_created_again_despite_its_stamp(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jp.db'}"
    stamps = tmp_path / "schema"
    open_in_new_process(url, stamps)
    (tmp_path / "jp.db").unlink()
    assert open_in_new_process(url, stamps) == "alembic"  # schema made anew, the query works


def test_a_stale_stamp_on_postgresql_gives_one_line_then_recovers(tmp_path: Path) -> None:
    url, name = services.create_pg_database()
    stamps = tmp_path / "schema"
    try:
        open_in_new_process(url, stamps)
        # The database is dropped and made anew behind the stamp's back.
        services.drop_pg_database(name)
        services.create_pg_database_named(name)
        db._ready.clear()  # this process has not seen the new database either
        store = Store(url, schema_stamp_dir=stamps)
        with pytest.raises(errors.StoreError, match="has no jobprobe tables"), store.reader() as r:
            job_reads.job_history(r, limit=1)
        store.dispose()
        assert not schema_stamp.stamp_path(stamps, url).exists()
        db._ready.clear()
        assert open_in_new_process(url, stamps) == "alembic"
    finally:
        db._ready.clear()
        services.drop_pg_database(name)


def test_the_stamp_name_holds_no_credentials(tmp_path: Path) -> None:
    stamp = schema_stamp.stamp_path(tmp_path, "postgresql+psycopg://u:s3cret@127.0.0.1:5432/x")
    assert "s3cret" not in str(stamp) and stamp.parent == tmp_path
