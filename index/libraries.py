"""Where the articles live, behind one interface: `Library`. `FolderLibrary` is ARTICLES_DIR (the
default, one process); `DatabaseLibrary` (index.database_library) is the database, with a PostgreSQL
DATABASE_URL, shared by every process. `open_library` picks by the settings.

A build reads article files, whichever the library: `library_settings` gives the settings of a
build whose ARTICLES_DIR is the library's files (`Library.materialize`), written for this process
beside INDEX_DIR (never in it: a build replaces INDEX_DIR whole).
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index.articles import article_files, file_signature
from index.library import LibraryEntry, add_file, add_page, list_articles, remove_article

if TYPE_CHECKING:
    from index.fetching import FetchedPage
    from index.settings import IndexSettings
    from index.store import Manifest

log = logging.getLogger(__name__)


class Library(Protocol):
    """The articles the index is built from: added to, listed, removed, and written out as files for
    a build. Errors a user can cause are `LibraryError` and `ArticleError` (`FetchRefused` for a
    page), with the same sentences whichever the library."""

    def add_file(self, path: Path) -> LibraryEntry:
        """Store a copy of a local article file; the new article's entry."""
        ...

    def add_page(self, page: FetchedPage) -> LibraryEntry:
        """Store the article of a fetched web page; the new article's entry."""
        ...

    def remove(self, article_id: str) -> LibraryEntry:
        """Delete an article (never the last usable one); its entry."""
        ...

    def revision(self) -> int:
        """A number that changes whenever the library changes."""
        ...

    def materialize(self, folder: Path) -> Path:
        """The folder of the library's article files for a build, written into `folder` when they
        live elsewhere."""
        ...

    def list(self, manifest: Manifest | None = None) -> list[LibraryEntry]:
        """Every article, by id, with its passages in the index `manifest` describes."""
        ...


@dataclass(frozen=True)
class FolderLibrary:
    """The library in ARTICLES_DIR (`index.library`): its files are the articles."""

    articles_dir: Path

    def add_file(self, path: Path) -> LibraryEntry:
        """Store a copy of a local article file in ARTICLES_DIR."""
        return add_file(self.articles_dir, path)

    def add_page(self, page: FetchedPage) -> LibraryEntry:
        """Store the article of a fetched web page in ARTICLES_DIR."""
        return add_page(self.articles_dir, page)

    def remove(self, article_id: str) -> LibraryEntry:
        """Delete the article file whose id is `article_id`."""
        return remove_article(self.articles_dir, article_id)

    def revision(self) -> int:
        """A hash of the article files' names, sizes and change times: any add, remove or edit
        changes it."""
        digest = hashlib.sha256()
        for path in article_files(self.articles_dir, required=False):
            digest.update(f"{path.name}\0{file_signature(path.stat())}\n".encode())
        return int.from_bytes(digest.digest()[:7], "big")

    def materialize(self, folder: Path) -> Path:
        """ARTICLES_DIR itself: its files are what a build reads (`folder` is not written)."""
        return self.articles_dir

    def list(self, manifest: Manifest | None = None) -> list[LibraryEntry]:
        """Every article file of ARTICLES_DIR, by id."""
        return list_articles(self.articles_dir, manifest)


def shares_database(settings: IndexSettings) -> bool:
    """Whether DATABASE_URL is a PostgreSQL server: then the library lives in it."""
    # Read off the scheme (the settings allow sqlite and postgresql only): no SQLAlchemy import
    # for the commands of a folder library.
    return settings.database_url.split(":", 1)[0].split("+", 1)[0] == "postgresql"


def open_library(settings: IndexSettings) -> Library:
    """The library of `settings`: with a PostgreSQL DATABASE_URL the database's (migrated, and seeded
    from ARTICLES_DIR if it never was), else ARTICLES_DIR. Raises `DatabaseError` (one line) when
    the database can't be used."""
    if not shares_database(settings):
        return FolderLibrary(settings.articles_dir)
    from database.engine import migrate, open_database
    from index.database_library import DatabaseLibrary

    engine = open_database(settings.database_url)
    try:
        migrate(engine, what="the article library")
        library = DatabaseLibrary(engine)
        library.seed(settings.articles_dir)
    except BaseException:
        engine.dispose()
        raise
    return library


def library_folder(settings: IndexSettings) -> Path:
    """Where this process writes the library's files for its builds: beside INDEX_DIR, named
    after this machine and process (processes sharing INDEX_DIR each keep their own)."""
    index_dir = settings.index_dir.absolute()
    return index_dir.with_name(f"{_copies_prefix(index_dir)}{socket.gethostname()}-{os.getpid()}")


def library_settings(settings: IndexSettings, library: Library) -> IndexSettings:
    """`settings` for a build of `library`: ARTICLES_DIR is the library's files (written first,
    when they live elsewhere)."""
    folder = library_folder(settings)
    articles_dir = library.materialize(folder)
    if articles_dir == settings.articles_dir:
        return settings
    _remove_dead_copies(folder)
    return settings.model_copy(update={"articles_dir": articles_dir})


def _copies_prefix(index_dir: Path) -> str:
    return f".{index_dir.name}.articles-"


def _remove_dead_copies(folder: Path) -> None:
    """Delete the copies that processes of this machine which are gone left beside INDEX_DIR."""
    host_prefix = folder.name.rsplit("-", 1)[0] + "-"
    for copy in folder.parent.glob(glob.escape(host_prefix) + "*"):
        pid = copy.name.removeprefix(host_prefix).split(".")[0]
        if pid.isdigit() and not _running(int(pid)):
            log.info("removing %s, a copy of the library a stopped process left", copy.name)
            if copy.is_symlink() or not copy.is_dir():
                copy.unlink(missing_ok=True)
            else:
                shutil.rmtree(copy, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True
