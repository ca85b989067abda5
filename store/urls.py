"""A store URL taken apart without SQLAlchemy: which database, the SQLite file, the libpq
connection string, and the URL to show (password hidden).

Standard library only: the read commands open the store from it without importing SQLAlchemy
(about 0.3 s of a command's start), and ``store.db`` uses the same rules for its engine's
messages and schema stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class StoreUrl:
    """``postgresql[+psycopg|+psycopg2]://...`` or ``sqlite:///PATH`` (``sqlite://``: memory)."""

    url: str
    backend: str  # "postgresql" or "sqlite"

    @classmethod
    def parse(cls, url: str) -> StoreUrl:
        """The URL's backend; anything but PostgreSQL or SQLite is a ValueError."""
        scheme = url.partition("://")[0]
        backend = scheme.partition("+")[0]
        if backend not in ("postgresql", "sqlite") or "://" not in url:
            raise ValueError(f"not a PostgreSQL or SQLite URL: {display(url)}")
        return cls(url, backend)

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file (None for memory or a server database)."""
        if self.backend != "sqlite":
            return None
        path = self.url.partition("://")[2].removeprefix("/").partition("?")[0]
        return None if path in ("", ":memory:") else Path(path).expanduser()

    @property
    def libpq(self) -> str:
        """The URL as libpq takes it (``postgresql://``, no SQLAlchemy driver name)."""
        return "postgresql://" + self.url.partition("://")[2]

    @property
    def identity(self) -> str:
        """What names this database, credentials left out: the resolved file of a SQLite
        store, else the URL with its password hidden."""
        file = self.sqlite_file
        return str(file.resolve()) if file is not None else display(self.url)


def display(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.partition("://")[0] + "://***"
    if not password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
