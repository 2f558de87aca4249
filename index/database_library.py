"""The article library kept in the database (a PostgreSQL DATABASE_URL): the one source of truth for
every process of the bot, on any machine; ARTICLES_DIR only seeds it, once.

Articles are stored as the text of the file the folder library would write (`index.library`
prepares it), under the same ids, so the two libraries list, refuse and index alike. Every write
first bumps the library's one row (`UPDATE library SET revision = revision + 1`): that takes the
row's lock, so writers go one at a time (a new id is chosen seeing every other), and the new
revision commits with the change, announced by `NOTIFY article_library, '<revision>'`
(`index.library_watch` listens). A refused or failed write rolls its bump back.

A build reads files: `materialize` writes the library's articles into a folder of this process,
fetching only the text of articles written since its last copy.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, null, select, text, true, update

from index.articles import ArticleError, article_files, read_front_matter
from index.library import (
    SUFFIX,
    LibraryEntry,
    LibraryError,
    PreparedArticle,
    changed_at,
    check_id,
    free_name,
    only_usable,
    prepare_file,
    prepare_page,
)
from index.library_tables import articles, library
from index.store import Manifest, fsync_dir

if TYPE_CHECKING:
    from index.fetching import FetchedPage

log = logging.getLogger(__name__)

CHANNEL = "article_library"  # what every write NOTIFYs, with the new revision
REVISION_FILE = ".revision"  # in a copy: the revision it holds (hidden: a build never reads it)


class DatabaseLibrary:
    """The library in the database of `engine` (migrated): add, list and remove articles, the
    library's revision, and a copy of its articles as files for a build."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_file(self, path: Path) -> LibraryEntry:
        """Store a local article file (.txt, .md, or a web page saved as .html) as it is read,
        keeping its own title; raises `LibraryError` or `ArticleError` (nothing stored)."""
        return self._insert(prepare_file(path))

    def add_page(self, page: FetchedPage) -> LibraryEntry:
        """Store the article of a fetched web page, citing its final URL; raises `FetchRefused`
        (nothing stored) for a page without article text."""
        return self._insert(prepare_page(page))

    def remove(self, article_id: str) -> LibraryEntry:
        """Delete the article `article_id`; raises `LibraryError` for an id that names no article,
        and for the library's last article (an index needs one)."""
        check_id(article_id)
        with self.engine.begin() as connection:
            revision = _bump(connection)
            row = connection.execute(
                select(articles.c.id, articles.c.title, articles.c.source, articles.c.added).where(
                    articles.c.id == article_id
                )
            ).one_or_none()
            if row is None:
                raise LibraryError(
                    f"no article {article_id!r} in the library; the list of articles shows the ids"
                )
            others = connection.execute(
                select(func.count()).select_from(articles).where(articles.c.id != article_id)
            ).scalar_one()
            if not others:  # every stored article is usable: it was checked as it was added
                raise only_usable(article_id)
            connection.execute(delete(articles).where(articles.c.id == article_id))
            _announce(connection, revision)
        log.info("removed %s from the library: %s", article_id, row.title)
        return _entry(row, {})

    def revision(self) -> int:
        """The library's revision: every change makes it larger."""
        with self.engine.connect() as connection:
            return connection.execute(select(library.c.revision)).scalar_one()

    def seed(self, articles_dir: Path) -> int:
        """Import ARTICLES_DIR's article files, each under its own id (its name without the suffix),
        unless the library was seeded before: emptied since, it stays empty. Returns how many were
        imported. Unusable files are skipped with a warning; a missing folder seeds nothing, and the
        library stays unseeded."""
        if self._seeded():
            return 0
        if not articles_dir.is_dir():
            log.warning("ARTICLES_DIR %s is not a folder: the article library is not seeded", articles_dir)
            return 0
        prepared = list(_seeds(articles_dir))
        with self.engine.begin() as connection:
            revision = connection.execute(
                update(library)
                .where(library.c.id == 1, library.c.seeded_at.is_(None))
                .values(revision=library.c.revision + 1, seeded_at=datetime.now(UTC))
                .returning(library.c.revision)
            ).scalar_one_or_none()
            if revision is None:  # another process seeded it meanwhile
                return 0
            taken = _taken(connection)
            rows = []
            for stem, article in prepared:
                article_id = free_name(stem, taken)
                taken.add(article_id.lower())
                rows.append(_row(article_id, article, revision))
            if rows:
                connection.execute(insert(articles), rows)
            _announce(connection, revision)
        log.info("seeded the article library with %d article(s) of %s", len(rows), articles_dir)
        return len(rows)

    def materialize(self, folder: Path) -> Path:
        """Write the library's articles as files (`<id>.txt`, rendered as the folder library's)
        for a build to read at `folder`: a link to a new folder, swapped in by one rename, so a
        build never sees half a copy. Articles written since the previous copy are fetched; the
        others are linked from it. Returns `folder`; raises `LibraryError` when the library is
        empty (a build needs an article)."""
        folder = folder.absolute()
        if folder.exists() and not folder.is_symlink():
            raise LibraryError(f"{folder} is a folder, not a copy of the library; move it away")
        current = folder.resolve() if folder.exists() else None
        since = _revision_of(current)
        for known in dict.fromkeys((since, -1)):  # -1: everything, if the copy lacks a file
            revision, rows = self._snapshot(known)
            if current is not None and revision == since:
                return folder
            missing = [
                article_id for article_id, text in rows if text is None and not _copied(current, article_id)
            ]
            if not missing:
                break
            log.warning("the copy at %s lacks %s; fetching every article", current, ", ".join(missing[:5]))
        if not rows:
            raise LibraryError("the article library has no articles; add one (`run_bot.py articles add`)")
        _write_copy(folder, revision, rows, current)
        log.info("wrote revision %d of the article library (%d articles) to %s", revision, len(rows), folder)
        return folder

    def copied_revision(self, folder: Path) -> int:
        """The revision of the library `materialize` last wrote into `folder`; -1 when none."""
        return _revision_of(folder.resolve() if folder.exists() else None)

    def _snapshot(self, since: int) -> tuple[int, list[tuple[str, str | None]]]:
        """The library's revision, and each article's id and text (None for one written at or
        before revision `since`), read in one statement: one consistent state."""
        fetched = case((articles.c.revision <= since, null()), else_=articles.c.text)
        query = select(library.c.revision, articles.c.id, fetched).select_from(
            library.outerjoin(articles, true())
        )
        with self.engine.connect() as connection:
            result = connection.execute(query).all()
        return result[0][0], [(article_id, text) for _, article_id, text in result if article_id is not None]

    def _insert(self, article: PreparedArticle) -> LibraryEntry:
        """Store `article` under a new id made from its title."""
        with self.engine.begin() as connection:
            revision = _bump(connection)
            article_id = free_name(article.stem, _taken(connection))
            connection.execute(insert(articles).values(**_row(article_id, article, revision)))
            _announce(connection, revision)
        log.info("added %s to the library: %s", article_id, article.title)
        return LibraryEntry(
            id=article_id,
            title=article.title,
            source=article.source,
            added=article.added,
            passages=None,
            file=article_id + SUFFIX,
        )

    def _seeded(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(select(library.c.seeded_at)).scalar_one() is not None

    def list(self, manifest: Manifest | None = None) -> list[LibraryEntry]:
        """Every article, by id; its passages are those `manifest` (the current index's) records
        of it."""
        indexed = {entry["source"]: entry for entry in manifest.articles} if manifest is not None else {}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(articles.c.id, articles.c.title, articles.c.source, articles.c.added)
            ).all()
        # sorted here: the server's collation may not sort as the folder library does
        return sorted((_entry(row, indexed.get(row.id + SUFFIX, {})) for row in rows), key=lambda e: e.id)


def _bump(connection: Connection) -> int:
    """Lock the library's row to the end of the transaction and return its next revision."""
    return connection.execute(
        update(library)
        .where(library.c.id == 1)
        .values(revision=library.c.revision + 1)
        .returning(library.c.revision)
    ).scalar_one()


def _announce(connection: Connection, revision: int) -> None:
    """Tell every listener the library is at `revision`, when the transaction commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_notify(:channel, :revision)"), {"channel": CHANNEL, "revision": str(revision)}
        )


def _taken(connection: Connection) -> set[str]:
    """Every id of the library, lower case (an id differing only in case is taken too, as in a
    folder on a case-insensitive disk)."""
    return {article_id.lower() for article_id in connection.scalars(select(articles.c.id))}


def _row(article_id: str, article: PreparedArticle, revision: int) -> dict[str, Any]:
    return {
        "id": article_id,
        "title": article.title,
        "source": article.source,
        "date": article.date,
        "added": article.added,
        "text": article.text,
        "content_hash": hashlib.sha256(article.text.encode("utf-8")).hexdigest(),
        "revision": revision,
    }


def _entry(row: Any, indexed: dict[str, Any]) -> LibraryEntry:
    return LibraryEntry(
        id=row.id,
        title=row.title,
        source=row.source,
        added=row.added,
        passages=indexed.get("passages"),
        file=row.id + SUFFIX,
    )


def _seeds(articles_dir: Path) -> Iterable[tuple[str, PreparedArticle]]:
    """Each usable article file of `articles_dir`: its id and its article, added when its front
    matter says (else when the file last changed, as the folder library lists it)."""
    for path in article_files(articles_dir, required=False):
        try:
            added = read_front_matter(path).added or changed_at(path)
            yield path.stem, prepare_file(path, added=added)
        except (ArticleError, LibraryError, OSError) as error:
            log.warning("not seeding the article library with %s: %s", path.name, error)


def _revision_of(copy: Path | None) -> int:
    """The revision a copy of the library holds; -1 when there is none (or it can't be read)."""
    if copy is None:
        return -1
    try:
        return int((copy / REVISION_FILE).read_text())
    except (OSError, ValueError):
        return -1


def _copied(copy: Path | None, article_id: str) -> bool:
    return copy is not None and (copy / (article_id + SUFFIX)).is_file()


def _write_copy(
    folder: Path, revision: int, rows: Sequence[tuple[str, str | None]], current: Path | None
) -> None:
    """Write the articles (a text, or None: link the previous copy's file) to a new folder beside
    `folder`, flushed to disk, and point `folder` at it; then delete every older copy."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=f"{folder.name}.r{revision}-", dir=folder.parent))
    try:
        for article_id, article_text in rows:
            name = article_id + SUFFIX
            if article_text is None:
                assert current is not None  # `materialize` fetched every text otherwise
                _link_or_copy(current / name, target / name)
            else:
                _write_file(target / name, article_text.encode("utf-8"))
        _write_file(target / REVISION_FILE, str(revision).encode())
        fsync_dir(target)
        link = folder.with_name(f"{folder.name}.link-{secrets.token_hex(4)}")
        os.symlink(target.name, link)
        os.replace(link, folder)  # the swap: one rename
        fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    # The folder is this process's alone: anything else of its name is an older copy, or a leftover.
    for old in folder.parent.glob(glob.escape(folder.name) + ".*"):
        if old != target:
            _delete(old)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, destination)


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
