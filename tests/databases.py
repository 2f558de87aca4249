"""A real PostgreSQL server for the tests that need one (the question log's, the article library's):
Debian's, started once per session in a temporary folder on a free local port. A pytest plugin
(tests/conftest.py loads it); tests that use it are marked `postgres`."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

INITDB = "/usr/lib/postgresql/*/bin/initdb"
MISSING = (
    "PostgreSQL's server is not installed ({pattern} not found); the database tests need it: "
    "apt-get install postgresql (.ci/run and `make postgres` do)"
)
_databases = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_binaries() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps each major version apart)."""
    found = sorted(glob.glob(INITDB), key=lambda path: int(Path(path).parts[-3].split(".")[0]))
    if not found:
        pytest.fail(MISSING.format(pattern=INITDB), pytrace=False)
    return Path(found[-1]).parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for this session: yields the URL of its `postgres` database (trust
    authentication, 127.0.0.1 only); stopped and deleted at the end."""
    with running_postgres() as url:
        yield url


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder until the block ends: the URL of its `postgres`
    database (also used by bench/scaling.py)."""
    binaries = server_binaries()
    # Not under pytest's tmp folder: that is private to root, and the server can't run as root.
    root = Path(tempfile.mkdtemp(prefix="test-postgres-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()

    def pg(*args: str | Path) -> None:
        subprocess.run([*run_as, *map(str, args)], check=True, capture_output=True, timeout=120)

    try:
        pg(binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg(binaries / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-o", options, "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            pg(binaries / "pg_ctl", "-D", data, "-w", "stop", "-m", "fast")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def new_postgres_database(server_url: str) -> str:
    """A fresh, empty database on the session's server."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL server."""
    return new_postgres_database(postgres_server)
