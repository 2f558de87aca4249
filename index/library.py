"""The article library in ARTICLES_DIR, added to and removed from by the bot's admins (`run_bot.py
articles …`, and the bot's commands); `index.libraries` puts it and the database's library behind
one interface.

An added article is cleaned first and stored as a `.txt` file the index reads back to the same
title, captions and paragraphs: front matter (title, source URL, date, when added), the headline,
each caption in a block of its own, then the paragraphs (`prepare_article` makes that text, for
either library). Writers are serialised by a lock file in ARTICLES_DIR; a file is written under a
hidden temporary name (a reindex never reads hidden files), flushed to disk and renamed into place,
so an article is either there whole or not at all. The index is rebuilt by the caller
(`index.build.rebuild`), which re-embeds only the new text.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.articles import (
    ARTICLE_SUFFIXES,
    ArticleError,
    article_files,
    parse_article,
    read_article,
    read_front_matter,
    title_from_name,
)
from index.cleaning import clean_article, normalize_text
from index.front_matter import FrontMatter, FrontMatterError, format_front_matter, split_front_matter
from index.store import Manifest, fsync_dir

if TYPE_CHECKING:
    from index.fetching import FetchedPage

log = logging.getLogger(__name__)

SUFFIX = ".txt"  # not .md: Markdown's markup rules would change a paragraph's `*` and `_` on reading
MAX_SLUG_CHARS = 80
LOCK_NAME = ".library.lock"
_TEMPORARY = ".adding"  # a hidden file ending so is a write in progress, or one a crash cut short
# A caption is a prose line in a block with furniture, before the first paragraph (index.cleaning);
# this line is that furniture. It ends a sentence, so no reading joins the caption onto it.
CAPTION_LINE = "Photo caption."
# An id is a file name without its suffix, as the listing shows it: anything but a path (no
# separator, not hidden); it must also name an article file, so nothing else can be reached.
_ID = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]*")


class LibraryError(Exception):
    """A library request that can't be done as asked (an unknown id, a file that is not an article);
    the message says what to fix."""


@dataclass(frozen=True)
class PreparedArticle:
    """An article ready to be stored: the text of its library file, and what a listing shows."""

    stem: str  # its name without a suffix, before another article's could make it `stem-2`
    title: str
    source: str | None
    date: str | None
    added: str
    text: str  # front matter, headline, captions and paragraphs, as `render_article` writes them


@dataclass(frozen=True)
class LibraryEntry:
    """One article of the library, as a listing shows it."""

    id: str  # the file name without its suffix
    title: str
    source: str | None  # the page it was taken from
    added: str  # ISO time: from the front matter, else the file's last change
    passages: int | None  # in the current index; None when it isn't indexed (yet)
    file: str

    def to_json(self) -> dict[str, Any]:
        """The entry as `articles list --json` spells it."""
        return {
            "id": self.id,
            "title": self.title,
            "passages": self.passages,
            "source": self.source,
            "added": self.added,
        }


def slug(title: str) -> str:
    """A file name stem for `title`: ASCII letters and digits, lower case, words joined by hyphens,
    at most MAX_SLUG_CHARS (cut between words); "article" when nothing of it is ASCII."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower().replace("'", ""))
    stem = ""
    for word in words:
        longer = f"{stem}-{word}" if stem else word
        if len(longer) > MAX_SLUG_CHARS:
            break
        stem = longer
    return stem or (words[0][:MAX_SLUG_CHARS] if words else "article")


def free_name(stem: str, taken: set[str]) -> str:
    """`stem`, or `stem-2`, `stem-3`… : the first not in `taken` (the library's names, lower case)."""
    candidate, number = stem, 1
    while candidate.lower() in taken:
        number += 1
        tail = f"-{number}"
        candidate = stem[: MAX_SLUG_CHARS - len(tail)].rstrip("-") + tail
    return candidate


def render_article(title: str, captions: Sequence[str], paragraphs: Sequence[str], front: FrontMatter) -> str:
    """The text of a library file: front matter, the headline, each caption in a block of its own
    (after CAPTION_LINE), then the paragraphs, blocks separated by blank lines."""
    blocks = [title, *(f"{CAPTION_LINE}\n{caption}" for caption in captions), *paragraphs]
    return format_front_matter(front) + "\n" + "\n\n".join(blocks) + "\n"


@contextlib.contextmanager
def library_lock(articles_dir: Path) -> Iterator[None]:
    """Serialise the library's writers across processes (the bot, `articles add` from a shell)."""
    _check_dir(articles_dir)
    with (articles_dir / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_dir(articles_dir: Path) -> None:
    if not articles_dir.is_dir():
        missing = "does not exist" if not articles_dir.exists() else "is not a directory"
        raise ArticleError(f"ARTICLES_DIR {str(articles_dir)!r} {missing}")


def prepare_text(
    text: str,
    *,
    title: str | None = None,
    source_url: str | None = None,
    date: str | None = None,
    name_hint: str | None = None,
) -> PreparedArticle:
    """Clean `text` (a pasted page, or its HTML) into an article to store; raises `ArticleError`
    when it has no prose or no title.

    Front matter at the top of `text` gives what the arguments leave out; `name_hint` (a file or page
    name) names the article in errors, and titles it when nothing else does."""
    label = name_hint or title or "the article"
    try:
        front, body = split_front_matter(text)
    except FrontMatterError as error:
        raise ArticleError(f"{label}: {error}") from None
    clean = clean_article(body, title=title or front.title)
    if not clean.paragraphs and not clean.captions:
        raise ArticleError(f"{label}: no paragraphs of prose found in it")
    headline = clean.title or (title_from_name(name_hint) if name_hint else None)
    if not headline:
        raise ArticleError(f"{label}: no headline found in it; give it a title")
    return prepare_article(
        headline,
        clean.captions,
        clean.paragraphs,
        FrontMatter(title=headline, source=source_url or front.source, date=date or front.date),
    )


def check_article_file(path: Path) -> None:
    """Raise `LibraryError` unless `path` is a file of a kind the library takes."""
    if not path.is_file():
        raise LibraryError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    if path.suffix.lower() not in ARTICLE_SUFFIXES:
        raise LibraryError(f"{path.name}: not an article file ({', '.join(ARTICLE_SUFFIXES)})")


def prepare_file(path: Path, *, added: str | None = None) -> PreparedArticle:
    """A local article file (.txt, .md, or a web page saved as .html) as it is read (a web page's
    article text, found by trafilatura), keeping its own title; `added` (default: now) says when it
    joined the library."""
    check_article_file(path)
    article = read_article(path)
    front = FrontMatter(title=article.title, source=article.url, date=article.date, added=added)
    return prepare_article(article.title, article.captions, article.paragraphs, front)


def prepare_page(page: FetchedPage) -> PreparedArticle:
    """The article of a fetched web page (HTML, or plain text), citing its final URL; raises
    `FetchRefused` for a page without article text."""
    from index.fetching import article_from_page  # aiohttp: only for pages

    clean = article_from_page(page)
    name = page.url.rstrip("/").rsplit("/", 1)[-1]
    title = clean.title or title_from_name(name) or page.url
    return prepare_article(title, clean.captions, clean.paragraphs, FrontMatter(title=title, source=page.url))


def prepare_article(
    title: str, captions: Sequence[str], paragraphs: Sequence[str], front: FrontMatter
) -> PreparedArticle:
    """The article as its library file: rendered, and checked to read back as the index will read
    it (`LibraryError` if not); added now unless `front` says when."""
    title = " ".join(normalize_text(title).split())  # as the headline is read back
    added = front.added or datetime.now(UTC).isoformat(timespec="seconds")
    try:
        text = render_article(title, captions, paragraphs, replace(front, title=title, added=added))
    except FrontMatterError as error:
        raise ArticleError(f"{title[:80]}: {error}") from None
    stem = slug(title)
    stored = parse_article(stem + SUFFIX, text.encode("utf-8"))
    if (stored.title, stored.captions, stored.paragraphs) != (title, tuple(captions), tuple(paragraphs)):
        raise LibraryError(f"{title[:80]}: the article could not be stored so that it reads back the same")
    return PreparedArticle(
        stem=stem, title=title, source=front.source, date=front.date, added=added, text=text
    )


def add_article(
    articles_dir: Path,
    *,
    text: str,
    title: str | None = None,
    source_url: str | None = None,
    date: str | None = None,
    name_hint: str | None = None,
) -> LibraryEntry:
    """Clean `text` (a pasted page, or its HTML) and store it in the library under a new file name
    made from its title; raises `ArticleError` (nothing written) when it has no prose or no title
    (see `prepare_text`)."""
    prepared = prepare_text(text, title=title, source_url=source_url, date=date, name_hint=name_hint)
    return _store(articles_dir, prepared)


def add_file(articles_dir: Path, path: Path) -> LibraryEntry:
    """Store a copy of a local article file (.txt, .md, or a web page saved as .html) in the library,
    as it is read (a web page's article text, found by trafilatura), keeping its own title."""
    check_article_file(path)
    if path.resolve().parent == articles_dir.resolve():
        raise LibraryError(f"{path.name} is in ARTICLES_DIR already")
    return _store(articles_dir, prepare_file(path))


def add_page(articles_dir: Path, page: FetchedPage) -> LibraryEntry:
    """Store the article of a fetched web page (HTML, or plain text), citing its final URL; raises
    `FetchRefused` (nothing written) for a page without article text."""
    return _store(articles_dir, prepare_page(page))


def _store(articles_dir: Path, article: PreparedArticle) -> LibraryEntry:
    """Write the article as a new file of the library, atomically, under the library's lock."""
    _check_dir(articles_dir)
    with library_lock(articles_dir):
        _remove_leftovers(articles_dir)
        taken = {os.path.splitext(name)[0].lower() for name in os.listdir(articles_dir)}
        name = free_name(article.stem, taken) + SUFFIX
        _write_atomically(articles_dir / name, article.text.encode("utf-8"))
    log.info("added %s to the library: %s", name, article.title)
    return LibraryEntry(
        id=name.removesuffix(SUFFIX),
        title=article.title,
        source=article.source,
        added=article.added,
        passages=None,
        file=name,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a hidden file beside `path`, flush it to disk, and rename it to `path`."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TEMPORARY}")
    # os.open, not mkstemp: the file gets the permissions of any other new file (mkstemp's are 0600)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_dir(path.parent)


def _remove_leftovers(articles_dir: Path) -> None:
    """Delete the temporary files of writes a crash cut short (called under the lock: no write is
    in progress)."""
    for leftover in articles_dir.glob(f".*{_TEMPORARY}"):
        log.warning("removing %s, left by an add that did not finish", leftover.name)
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def changed_at(path: Path) -> str:
    """When the file at `path` last changed, as an ISO time (what lists it as added without front matter)."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def _entry(path: Path, indexed: dict[str, Any]) -> LibraryEntry:
    """The listing of one article file; `indexed` is its manifest entry ({} when not indexed)."""
    try:
        front = read_front_matter(path)
    except ArticleError:
        front = FrontMatter()  # the index skips the file, and says why
    title = front.title or indexed.get("title")
    if title is None:
        try:
            title = read_article(path).title
        except (ArticleError, OSError):
            title = title_from_name(path.name)
    return LibraryEntry(
        id=path.stem,
        title=title,
        source=front.source,
        added=front.added or changed_at(path),
        passages=indexed.get("passages"),
        file=path.name,
    )


def list_articles(articles_dir: Path, manifest: Manifest | None = None) -> list[LibraryEntry]:
    """Every article file of the library, by id; its passages are those `manifest` (the
    current index's) records of it."""
    indexed = {entry["source"]: entry for entry in manifest.articles} if manifest is not None else {}
    paths = sorted(article_files(articles_dir, required=False), key=lambda path: (path.stem, path.suffix))
    return [_entry(path, indexed.get(path.name, {})) for path in paths]


def check_id(article_id: str) -> None:
    """Raise `LibraryError` unless `article_id` could be an article's id (a file name without its
    suffix: no folder, not hidden)."""
    if len(article_id) > 255 or not _ID.fullmatch(article_id):
        raise LibraryError(
            f"{article_id[:80]!r} is not an article id (a file name without its suffix, no folder; "
            "the list of articles shows each one's id)"
        )


def only_usable(article_id: str) -> LibraryError:
    """The refusal to remove the library's last usable article (an index needs one)."""
    return LibraryError(f"{article_id!r} is the only usable article; add another before removing it")


def _article_path(articles_dir: Path, article_id: str) -> Path:
    """The one article file whose name without suffix is `article_id`; raises `LibraryError`."""
    check_id(article_id)
    matches = [path for path in article_files(articles_dir, required=False) if path.stem == article_id]
    if not matches:
        raise LibraryError(f"no article {article_id!r} in ARTICLES_DIR; the list of articles shows the ids")
    if len(matches) > 1:
        names = ", ".join(path.name for path in matches)
        raise LibraryError(f"{article_id!r} is the id of {names}; remove the one you mean by hand")
    return matches[0]


def _usable(path: Path) -> bool:
    """Whether the index could be built from `path` (it is read whole: the first usable one found
    ends the search)."""
    try:
        read_article(path)
    except (ArticleError, OSError):
        return False
    return True


def remove_article(articles_dir: Path, article_id: str) -> LibraryEntry:
    """Delete the article file whose id is `article_id` (and nothing else); raises `LibraryError`
    for an id that names no article, and for the library's last article (an index needs one)."""
    with library_lock(articles_dir):
        path = _article_path(articles_dir, article_id)
        others = (other for other in article_files(articles_dir, required=False) if other != path)
        if not any(_usable(other) for other in others):  # counting files would count broken ones
            raise only_usable(article_id)
        entry = _entry(path, {})
        path.unlink()
        fsync_dir(articles_dir)
    log.info("removed %s from the library: %s", path.name, entry.title)
    return entry
