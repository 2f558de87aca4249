"""Reading article files from ARTICLES_DIR and cutting them into passages.

Problems with one file (not an article file, empty, binary, not UTF-8, too big) skip that file with a
warning naming it; problems with the directory itself (missing, nothing usable in it) raise
`ArticleError`.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.cleaning import clean_article
from index.front_matter import FrontMatter, FrontMatterError, split_front_matter
from index.passages import Passage, fit_to_window

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")  # web pages, read with trafilatura
ARTICLE_SUFFIXES = (".txt", ".md", *HTML_SUFFIXES)
MAX_ARTICLE_BYTES = 5 * 1024 * 1024  # a long news article is ~50 KB; 5 MB is a book
# A file's signature vouches for its bytes only if it last changed this long before it was read:
# timestamps are coarse (a clock tick; 2 s on FAT), so a write within the same tick as the read
# could leave them as they were (git's "racy clean" rule).
SETTLED_NS = 3_000_000_000


class ArticleError(Exception):
    """ARTICLES_DIR can't give an index anything to serve; the message says what to fix."""


@dataclass(frozen=True)
class Article:
    """One cleaned article file."""

    source: str
    title: str
    captions: tuple[str, ...]
    paragraphs: tuple[str, ...]
    digest: str
    signature: str = ""  # file_signature() as the file was read, if it had settled; else ""
    # from the file's front matter (index.front_matter), None when it doesn't say
    url: str | None = None  # the page it was taken from, for citations
    date: str | None = None  # when it was published
    added: str | None = None  # when it was added to the library


@dataclass(frozen=True)
class ArticleSet:
    """The usable articles of a directory and a warning for each file that was skipped."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...]


# UTF-32 first: its little-endian mark begins with UTF-16's
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _looks_binary(sample: str) -> bool:
    if "\x00" in sample:
        return True
    control = sum(char < " " and char not in "\t\n\f\r" for char in sample)
    return control > len(sample) * 0.05


def _decode(name: str, data: bytes) -> str:
    """The text of an article file: UTF-16 or UTF-32 when it starts with their byte order mark, else
    UTF-8; raises `ArticleError` for an empty or binary file or one in another encoding."""
    marked = next((codec for bom, codec in _BYTE_ORDER_MARKS if data.startswith(bom)), None)
    # Binary before "not UTF-8": a PNG is not UTF-8 either, but saying so would mislead its owner.
    # Unmarked bytes are sniffed one byte per character; UTF-16's own zero bytes only once decoded.
    if marked is None and _looks_binary(data[:8192].decode("latin-1")):
        raise ArticleError(f"{name}: this is a binary file, not text")
    codec = marked or "utf-8-sig"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        encoding = "UTF-8" if codec == "utf-8-sig" else codec.upper()
        raise ArticleError(
            f"{name}: not {encoding} text (byte {error.start} can't be decoded); save it as UTF-8"
        ) from error
    if not text.strip():
        raise ArticleError(f"{name}: the file is empty")
    if marked is not None and _looks_binary(text[:8192]):
        raise ArticleError(f"{name}: this is a binary file, not text")
    return text


def file_signature(stat: os.stat_result) -> str:
    """A file's size and change times: any write to it changes them."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


def title_from_name(name: str) -> str:
    """A title for an article that gives none: its file name, "city-budget.txt" → "City budget"."""
    stem = os.path.splitext(name)[0]
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or name


def read_article(path: Path) -> Article:
    """Read and clean one article file; raises `ArticleError` naming the file and the problem."""
    name = path.name
    stat = path.stat()
    changed = (stat.st_mtime_ns, stat.st_ctime_ns)  # 0 where the file system keeps no times
    settled = min(changed) > 0 and max(changed) < time.time_ns() - SETTLED_NS
    size = stat.st_size
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"{name}: {size / 1_048_576:.1f} MB is over the {MAX_ARTICLE_BYTES // 1_048_576} MB "
            "limit for one article"
        )
    return parse_article(name, path.read_bytes(), signature=file_signature(stat) if settled else "")


def parse_article(name: str, data: bytes, *, signature: str = "") -> Article:
    """The article in the bytes of a file named `name` (its suffix says how to read it): its front
    matter, headline, captions and paragraphs; raises `ArticleError` naming the file and the problem."""
    text = _decode(name, data)
    try:
        front, body = split_front_matter(text)
    except FrontMatterError as error:
        raise ArticleError(f"{name}: {error}") from None
    suffix = os.path.splitext(name)[1].lower()
    clean = clean_article(body, markdown=suffix == ".md", html=suffix in HTML_SUFFIXES, title=front.title)
    for footer in clean.footer:
        log.info("%s: left out the page's footer after its last divider: %.80s", name, footer)
    if not clean.paragraphs and not clean.captions:
        raise ArticleError(f"{name}: no paragraphs of prose found in it")
    return Article(
        source=name,
        title=clean.title or title_from_name(name),
        captions=clean.captions,
        paragraphs=clean.paragraphs,
        digest=hashlib.sha256(data).hexdigest(),
        signature=signature,
        url=front.source,
        date=front.date,
        added=front.added,
    )


def _is_file(entry: os.DirEntry[str]) -> bool:
    """Whether a directory entry is a file, following symlinks; False for a symlink loop, as for a
    broken link (DirEntry.is_file raises where Path.is_file says False)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _file_names(directory: Path) -> list[str]:
    """The names of the files in ARTICLES_DIR, sorted; hidden files and folders left out."""
    if not directory.exists():
        raise ArticleError(f"ARTICLES_DIR {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise ArticleError(f"ARTICLES_DIR {str(directory)!r} is not a directory")
    # scandir: a directory entry knows whether it is a file without a stat call per name (a start
    # checks every article this way, docs/benchmarks.md "Restarts")
    with os.scandir(directory) as entries:
        return sorted(entry.name for entry in entries if not entry.name.startswith(".") and _is_file(entry))


def _is_article_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in ARTICLE_SUFFIXES


def _article_paths(directory: Path, names: list[str], *, required: bool = True) -> list[Path]:
    paths = [directory / name for name in names if _is_article_name(name)]
    if not paths and required:
        raise ArticleError(
            f"ARTICLES_DIR {str(directory)!r} has no article files ({', '.join(ARTICLE_SUFFIXES)}); "
            "put one there"
        )
    return paths


def article_files(directory: Path, *, required: bool = True) -> list[Path]:
    """The article files of ARTICLES_DIR, sorted by name; raises `ArticleError` when there are none
    (unless not `required`) or the directory is missing."""
    return _article_paths(directory, _file_names(directory), required=required)


FRONT_MATTER_BYTES = 16_384  # far more than a front matter block's few lines


def read_front_matter(path: Path) -> FrontMatter:
    """The front matter of an article file, from its first few KB only; raises `ArticleError` when
    it is malformed."""
    with path.open("rb") as handle:
        head = handle.read(FRONT_MATTER_BYTES)
    codec = next((codec for bom, codec in _BYTE_ORDER_MARKS if head.startswith(bom)), "utf-8-sig")
    try:
        front, _ = split_front_matter(head.decode(codec, errors="replace"))
    except FrontMatterError as error:
        raise ArticleError(f"{path.name}: {error}") from None
    return front


def load_articles(directory: Path) -> ArticleSet:
    """Every usable article in `directory`, and a warning naming each other file and why it was
    skipped; raises `ArticleError` when none is usable."""
    articles: list[Article] = []
    warnings: list[str] = []

    def skip(problem: str) -> None:
        warnings.append(f"skipped {problem}")
        log.warning("skipped %s", problem)

    names = _file_names(directory)
    for name in names:
        if not _is_article_name(name):
            skip(f"{name}: not an article file ({', '.join(ARTICLE_SUFFIXES)})")
    for path in _article_paths(directory, names):
        try:
            articles.append(read_article(path))
        except ArticleError as error:
            skip(str(error))
        except OSError as error:
            skip(f"{path.name}: {error.strerror or error}")
    if not articles:
        raise ArticleError(f"no usable article in ARTICLES_DIR {str(directory)!r}: " + "; ".join(warnings))
    return ArticleSet(articles=tuple(articles), warnings=tuple(warnings))


def article_passages(article: Article, max_tokens: int, count_tokens: Callable[[str], int]) -> list[Passage]:
    """The passages of one article: its captions, then its paragraphs, each split to fit the model."""
    passages: list[Passage] = []
    for caption in article.captions:
        for part, text in enumerate(fit_to_window(caption, max_tokens, count_tokens)):
            passages.append(Passage(text, article.title, article.source, 0, "caption", part, article.url))
    for number, paragraph in enumerate(article.paragraphs, start=1):
        for part, text in enumerate(fit_to_window(paragraph, max_tokens, count_tokens)):
            passages.append(Passage(text, article.title, article.source, number, "body", part, article.url))
    return passages
