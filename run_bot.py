"""The one entry point: `python run_bot.py [command]`.

Without a command: the Discord bot when DISCORD_TOKEN is set, else a terminal chat. Commands:
ask, reindex, articles (add, list, remove), insights, eval, fit, bench (and `--help` on each). Settings come
from the environment and `.env`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np
    from sqlalchemy.engine import Engine

    from index.build import BuildStats
    from index.embedding import Embedder
    from index.libraries import Library
    from index.library import LibraryEntry
    from index.retriever import Retriever
    from index.settings import IndexSettings
    from index.store import IndexData

# Before anything can import huggingface_hub: weights come from local folders only.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger("run_bot")
REPO = Path(__file__).resolve().parent
BENCHMARK_INDEXES = (
    REPO / "var" / "benchmark"
)  # `eval` and `fit` index each case here, never beside INDEX_DIR

TERMINAL_BANNER = (
    "Terminal mode (no DISCORD_TOKEN set): type a question about the article, Ctrl-D to quit. "
    "To run the Discord bot, put DISCORD_TOKEN in .env (see README)."
)


def _settings() -> IndexSettings:
    """The settings from the environment (and .env); a malformed one is one line and exit 2."""
    from index.settings import IndexSettings, SettingsError

    try:
        return IndexSettings.from_env()
    except SettingsError as error:
        _fail(f"error: {error}")


def _configure_logging(level_name: str) -> None:
    level = logging.getLevelNamesMapping()[level_name]
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    for noisy in (
        "faiss.loader",
        "sentence_transformers",
        "httpx",
        "transformers",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # trafilatura warns "discarding data: None" for a page without text; index/articles.py already
    # logs one line naming the file it skips and why
    logging.getLogger("trafilatura").setLevel(max(level, logging.ERROR))


def _open_library(settings: IndexSettings) -> Library:
    """The article library: the database's with a PostgreSQL DATABASE_URL (seeded from ARTICLES_DIR
    the first time), else ARTICLES_DIR; a database that can't be used is one line and exit 2."""
    from index.libraries import open_library, shares_database

    if not shares_database(settings):
        return open_library(settings)
    from database.engine import DatabaseError  # Alembic: imported only for the database's library

    try:
        return open_library(settings)
    except DatabaseError as error:
        _fail(f"error: {error}")


def _open_retriever(settings: IndexSettings) -> Retriever:
    # Imports inside: `--help` and the Discord path's settings errors stay instant.
    from index.articles import ArticleError
    from index.embedding import ModelError
    from index.library import LibraryError
    from index.startup import open_retriever
    from index.store import IndexDirRefused

    try:
        retriever, _ = open_retriever(settings, library=_open_library(settings))
    except (ArticleError, LibraryError, ModelError, IndexDirRefused) as error:
        _fail(f"error: {error}")
    except OSError as error:
        _fail(_file_error(error))
    return retriever


def _fail(message: str) -> NoReturn:
    """Something the user can fix (a setting, a file): one line on stderr, exit 2."""
    print(message, file=sys.stderr)
    sys.exit(2)


def _file_error(error: OSError) -> str:
    """One line for a file system problem a setting can cause (INDEX_DIR under a file, no space...)."""
    where = f": {error.filename}" if error.filename else ""
    return f"error: {error.strerror or error}{where} (check INDEX_DIR, MODEL_CACHE_DIR and ARTICLES_DIR)"


def _default(args: argparse.Namespace) -> int:
    if os.environ.get("DISCORD_TOKEN") is not None:
        import bot

        return bot.run()
    print(TERMINAL_BANNER, file=sys.stderr)
    from index.console import chat

    retriever = _open_retriever(args.settings)
    chat(retriever, sys.stdin, sys.stdout, prompt=sys.stdin.isatty())
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from bot import cluster

    if os.environ.get("DISCORD_TOKEN") is None:
        _fail("error: DISCORD_TOKEN: not set; a cluster runs the Discord bot (see docs/scaling.md)")
    return cluster.run(args.processes)


def _ask(args: argparse.Namespace) -> int:
    from index.console import ask, stdin_questions

    retriever = _open_retriever(args.settings)
    questions = args.question or stdin_questions()
    ask(retriever, questions, sys.stdout, k=args.k, as_json=args.json, after=args.after)
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from index.articles import ArticleError, article_files
    from index.build import index_store, keep_apart, rebuild
    from index.embedding import ModelError
    from index.libraries import FolderLibrary, library_settings
    from index.library import LibraryError
    from index.startup import load_embedder
    from index.store import IndexDirRefused, IndexUnavailable

    settings = args.settings
    library = _open_library(settings)
    try:
        # before the model loads (a first start exports it: seconds)
        keep_apart(settings)
        if isinstance(library, FolderLibrary):
            article_files(settings.articles_dir)  # a missing or empty ARTICLES_DIR
        build = library_settings(settings, library)  # the database's: an empty one is refused here
        embedder = load_embedder(settings)
        try:
            previous = index_store(settings).load()
        except IndexUnavailable:
            previous = None
        _, stats = rebuild(build, embedder, previous)
    except (ArticleError, LibraryError, ModelError, IndexDirRefused) as error:
        _fail(f"error: {error}")
    except OSError as error:
        _fail(_file_error(error))
    # each skipped file was logged once, on stderr, as it was skipped
    skipped = f", skipped {len(stats.warnings)}" if stats.warnings else ""
    print(
        f"articles {stats.articles}, passages {stats.passages}, embedded {stats.embedded}, "
        f"reused {stats.reused}, seconds {stats.seconds:.2f}{skipped}"
    )
    return 0


def _rebuild_after(
    settings: IndexSettings, library: Library, change: str, embedder: Embedder
) -> tuple[IndexData, BuildStats]:
    """Rebuild the index after the library changed (`change` says how, for the error line): the new
    index and the build's stats."""
    from index.articles import ArticleError
    from index.build import index_store, rebuild
    from index.libraries import library_settings
    from index.library import LibraryError
    from index.store import IndexDirRefused, IndexUnavailable

    try:
        try:
            previous = index_store(settings).load()
        except IndexUnavailable:
            previous = None
        return rebuild(library_settings(settings, library), embedder, previous)
    except (ArticleError, LibraryError, IndexDirRefused) as error:
        _fail(f"error: {change}, but the index was not rebuilt: {error}")
    except OSError as error:
        _fail(f"error: {change}, but the index was not rebuilt: {_file_error(error).removeprefix('error: ')}")


def _ready_to_change_library(settings: IndexSettings) -> Embedder:
    """Check what a library change will need, before changing anything: ARTICLES_DIR and INDEX_DIR
    apart, INDEX_DIR replaceable, and the model (returned)."""
    from index.build import index_store, keep_apart
    from index.startup import load_embedder

    keep_apart(settings)
    index_store(settings).check_replaceable()
    return load_embedder(settings)


def _fetch_into_library(settings: IndexSettings, library: Library, url: str) -> LibraryEntry:
    """Fetch the page at `url` and add its article to the library (index.fetching does the fetching:
    http(s) only, private addresses refused unless ALLOW_PRIVATE_URLS)."""
    import asyncio

    from index.fetching import FetchRefused, fetch_page

    try:
        page = asyncio.run(fetch_page(url, allow_private=settings.allow_private_urls))
        return library.add_page(page)
    except FetchRefused as error:
        _fail(f"error: {error}")


def _articles_add(args: argparse.Namespace) -> int:
    import time

    from index.articles import ArticleError
    from index.embedding import ModelError
    from index.library import LibraryError
    from index.store import IndexDirRefused

    settings = args.settings
    started = time.perf_counter()
    target: str = args.target
    library = _open_library(settings)
    try:
        embedder = _ready_to_change_library(settings)
        if target.startswith(("http://", "https://")):
            entry = _fetch_into_library(settings, library, target)
        else:
            entry = library.add_file(Path(target))
    except (ArticleError, LibraryError, ModelError, IndexDirRefused) as error:
        _fail(f"error: {error}")
    except OSError as error:
        _fail(_file_error(error))
    data, _ = _rebuild_after(settings, library, f"added {entry.file}", embedder)
    passages = next((a.get("passages") for a in data.manifest.articles if a["source"] == entry.file), None)
    print(
        f"added {entry.id}: {entry.title}; passages {passages}, seconds {time.perf_counter() - started:.2f}"
    )
    return 0


def _articles_list(args: argparse.Namespace) -> int:
    import json

    from index.articles import ArticleError
    from index.build import index_store
    from index.libraries import FolderLibrary
    from index.store import IndexDirRefused, IndexUnavailable

    settings = args.settings
    library = _open_library(settings)
    try:
        try:
            manifest = index_store(settings).read_manifest()
        except IndexUnavailable:
            manifest = None
        entries = library.list(manifest)
    except (ArticleError, IndexDirRefused) as error:
        _fail(f"error: {error}")
    except OSError as error:
        _fail(_file_error(error))
    if args.json:
        print(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=1))
        return 0
    if not entries:
        where = settings.articles_dir if isinstance(library, FolderLibrary) else "the database's library"
        print(f"no articles in {where}")
    for entry in entries:
        passages = "not indexed" if entry.passages is None else f"{entry.passages} passages"
        print(
            f"{entry.id}\n  {entry.title}\n  {passages}, added {entry.added}, {entry.source or 'no source'}"
        )
    return 0


def _articles_remove(args: argparse.Namespace) -> int:
    from index.articles import ArticleError
    from index.embedding import ModelError
    from index.library import LibraryError
    from index.store import IndexDirRefused

    settings = args.settings
    library = _open_library(settings)
    try:
        embedder = _ready_to_change_library(settings)
        entry = library.remove(args.id)
    except (ArticleError, LibraryError, ModelError, IndexDirRefused) as error:
        _fail(f"error: {error}")
    except OSError as error:
        _fail(_file_error(error))
    _, stats = _rebuild_after(settings, library, f"removed {entry.file}", embedder)
    print(f"removed {entry.id}: {entry.title}; articles {stats.articles}, passages {stats.passages}")
    return 0


def _open_question_log(settings: IndexSettings) -> Engine | None:
    """The question log's database, None when nothing was recorded yet (no SQLite file, no tables);
    an unusable DATABASE_URL is one line and exit 2. Reading only: a missing file is not created."""
    # Not database.engine.open_database + migrate: a report only reads, and creates nothing.
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(settings.database_url)  # checked by the settings
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).exists():
        return None
    try:
        engine = create_engine(url)
        if inspect(engine).has_table("questions"):
            return engine
        engine.dispose()
        return None
    except (SQLAlchemyError, ImportError) as error:
        _fail(_database_error(url.render_as_string(hide_password=True), error))


def _database_error(where: str, error: Exception) -> str:
    """One line for a database that can't be read: where (no password) and the driver's first line."""
    cause = getattr(error, "orig", None) or error
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"error: the question log at {where} can't be read: {reason} (check DATABASE_URL)"


def _embed_on_demand(settings: IndexSettings) -> Callable[[Sequence[str]], np.ndarray]:
    """An embed function that loads the model at its first call: a report with no unanswered
    questions to group never loads it (nor imports it)."""
    embedder: list[Embedder] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        if not embedder:
            from index.startup import load_embedder

            embedder.append(load_embedder(settings))
        return embedder[0].embed(texts)

    return embed


def _insights(args: argparse.Namespace) -> int:
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from index.embedding import ModelError
    from insights.report import build_report, empty_report
    from insights.summary import report_text

    engine = _open_question_log(args.settings)
    if args.forget is not None:
        return _forget(args.settings, engine, args.forget)
    if engine is None:
        report = empty_report(days=args.days)
    else:
        try:
            report = build_report(engine, days=args.days, embed=_embed_on_demand(args.settings))
        except ModelError as error:
            _fail(f"error: {error}")
        except SQLAlchemyError as error:
            _fail(_database_error(engine.url.render_as_string(hide_password=True), error))
        finally:
            engine.dispose()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    elif engine is None:
        print("no questions recorded yet")
    else:
        print(report_text(report))
    return 0


def _forget(settings: IndexSettings, engine: Engine | None, user_id: int) -> int:
    """Delete one person's questions and votes (found by the hash of their Discord id)."""
    from sqlalchemy.exc import SQLAlchemyError

    from insights.identity import KEY_FILE, KeyFileError, load_key
    from insights.retention import forget_user

    if engine is None:
        print("forgot 0 rows (no questions recorded yet)")
        return 0
    if settings.question_log_secret is None and not KEY_FILE.exists():
        engine.dispose()  # a new key would match nobody: say so rather than "forgot 0 rows"
        _fail(
            f"error: no key to find anyone by: QUESTION_LOG_SECRET is unset and {KEY_FILE} is gone; "
            "set QUESTION_LOG_SECRET to the secret the bot used"
        )
    try:
        deleted = forget_user(engine, load_key(settings), user_id)
    except KeyFileError as error:
        _fail(f"error: {error}")
    except SQLAlchemyError as error:
        _fail(_database_error(engine.url.render_as_string(hide_password=True), error))
    finally:
        engine.dispose()
    print(f"forgot {deleted} rows (questions and votes) of user {user_id}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.path.is_dir():
        return _eval_benchmark(args)
    from index.evaluation import load_questions, score

    try:
        questions = load_questions(args.path)
    except (OSError, ValueError) as error:
        _fail(f"error: {error}")
    retriever = _open_retriever(args.settings)
    answers = retriever.ask_many([q.question for q in questions], 3)
    report = score(questions, answers)
    print(report.table())
    if args.verbose:
        print("\n".join(["", *report.misses]))
    return 0


def _examine_benchmark(settings: IndexSettings, root: Path, only: list[str]):
    """Every question of the benchmark at `root`, examined (index.fitting.examine)."""
    from index.benchmark import load_benchmark
    from index.embedding import ModelError
    from index.fitting import examine
    from index.startup import load_embedder

    try:
        cases = load_benchmark(root, only)
        embedder = load_embedder(settings)
        return examine(cases, embedder, BENCHMARK_INDEXES)
    except (ValueError, ModelError) as error:
        _fail(f"error: {error}")


def _eval_benchmark(args: argparse.Namespace) -> int:
    from index.evaluation import report_table
    from index.fitting import cross_validate, report_rows

    examples = _examine_benchmark(args.settings, args.path, args.only)
    if args.scorer is not None:
        from index.scorer import ScorerError, load_scorer

        try:
            scorer = load_scorer(args.scorer)
        except ScorerError as error:
            _fail(f"error: {error}")
        results = [(e, scorer.decide(e.features) if len(e.features) else None) for e in examples]
        print(f"with the scorer {args.scorer} (fitted on: {', '.join(scorer.about.get('cases', ['?']))}):")
    else:
        try:
            results = cross_validate(examples, args.folds)
        except ValueError as error:
            _fail(f"error: {error}")
        print(f"cross-validated by article ({min(args.folds, len({e.case for e in examples}))} folds):")
    rows = report_rows(results)
    print(report_table(rows))
    if args.verbose:
        for name, report in rows[:-1]:
            if report.misses and not name.startswith("all "):
                print("\n".join(["", f"{name}:", *report.misses]))
    return 0


def _fit(args: argparse.Namespace) -> int:
    from index.fitting import fit_scorer

    examples = _examine_benchmark(args.settings, args.benchmark, [])
    scorer = fit_scorer(examples, {"benchmark": os.path.relpath(args.benchmark, REPO)})
    scorer.save(args.out)
    print(
        f"wrote {args.out}: fitted on {scorer.about['questions']} questions of "
        f"{len(scorer.about['cases'])} articles; high from {scorer.high_from:.3f}, "
        f"none below {scorer.none_below:.3f}"
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    # A dev command: bench/ is not part of the product.
    import json

    from bench.report import terminal_table, write_docs
    from bench.run import run_all

    results = run_all(quick=args.quick)
    print(terminal_table(results))
    repo = Path(__file__).resolve().parent
    docs = repo / "docs"
    raw = repo / "var" / "benchmarks-quick.json" if args.quick else docs / "benchmarks.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=1, default=str) + "\n")
    if args.quick:
        print(f"(--quick: smaller sizes and fewer runs; results in {raw}, docs/benchmarks.md left as it is)")
        return 0
    write_docs(results, Path(__file__).resolve().parent / "bench" / "template.md", docs / "benchmarks.md")
    print(f"wrote {docs / 'benchmarks.md'}, its plots and benchmarks.json")
    return 0


def _folds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError("must be at least 2")
    return value


def _discord_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**64:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Discord user id (a number like 123456789012345678)"
        )
    return int(text)


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


_positive = _whole_number(1, 20)  # passages per answer
_processes = _whole_number(1, 256)
_days = _whole_number(1, 3650)


def build_parser() -> argparse.ArgumentParser:
    """The command line: a default action and one subcommand per task."""
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Answer questions about news articles with the articles' own words "
        "(Discord bot with DISCORD_TOKEN, terminal chat without).",
    )
    parser.set_defaults(handler=_default)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    about = "answer questions from the arguments or stdin (one per line)"
    ask = commands.add_parser("ask", help=about, description=about)
    ask.add_argument("question", nargs="*", help="questions, each quoted; none: one per line from stdin")
    ask.add_argument("--k", type=_positive, default=3, help="passages per answer (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question on stdout")
    ask.add_argument(
        "--after",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the conversation (repeat, oldest first): the questions are asked "
        "as the next turn after them",
    )
    ask.set_defaults(parser=ask, handler=_ask)

    about = "run the Discord bot's shards in several supervised processes (docs/scaling.md)"
    cluster = commands.add_parser("cluster", help=about, description=about)
    cluster.add_argument(
        "--processes",
        type=_processes,
        default=os.cpu_count() or 1,
        help="how many bot processes (default: one per CPU); each runs a slice of SHARD_IDS",
    )
    cluster.set_defaults(parser=cluster, handler=_cluster)

    about = "rebuild the index from ARTICLES_DIR"
    reindex = commands.add_parser("reindex", help=about, description=about)
    reindex.set_defaults(parser=reindex, handler=_reindex)

    about = "the article library (ARTICLES_DIR): add, list and remove articles; the index follows"
    articles = commands.add_parser("articles", help=about, description=about)
    articles.set_defaults(parser=articles, handler=lambda _args: articles.error("name an action"))
    actions = articles.add_subparsers(title="actions", metavar="ACTION")
    about = "add an article from a local .txt, .md or .html file (or a web page's URL), then reindex"
    add = actions.add_parser("add", help=about, description=about)
    add.add_argument("target", metavar="PATH_OR_URL", help="an article file, or an http(s) URL")
    add.set_defaults(parser=add, handler=_articles_add)
    about = "list the articles: id, title, passages, when added, source"
    listing = actions.add_parser("list", help=about, description=about)
    listing.add_argument(
        "--json", action="store_true", help='a JSON array of {"id", "title", "passages", "source", "added"}'
    )
    listing.set_defaults(parser=listing, handler=_articles_list)
    about = "remove the article with this id (see `articles list`), then reindex"
    remove = actions.add_parser("remove", help=about, description=about)
    remove.add_argument("id", help="the article's id: its file name without the suffix")
    remove.set_defaults(parser=remove, handler=_articles_remove)

    about = "what was asked and how the answers were rated: the question log's report (DATABASE_URL)"
    insights = commands.add_parser("insights", help=about, description=about)
    insights.add_argument("--days", type=_days, default=7, help="the last N days, today included (default 7)")
    insights.add_argument("--json", action="store_true", help="one JSON object on stdout (shape: README)")
    insights.add_argument(
        "--forget",
        type=_discord_id,
        metavar="USER_ID",
        help="delete everything recorded of this Discord user (docs/privacy.md) instead of reporting",
    )
    insights.set_defaults(parser=insights, handler=_insights)

    about = (
        "retrieval quality: on a JSONL question set (the index of ARTICLES_DIR, the shipped scorer), "
        "or on a benchmark folder (each article indexed alone, cross-validated by article)"
    )
    evaluate = commands.add_parser("eval", help=about, description=about)
    evaluate.add_argument(
        "path", type=Path, help="questions (e.g. data/benchmark/news/philadelphia/dev.jsonl) or a folder"
    )
    evaluate.add_argument("-v", "--verbose", action="store_true", help="list the questions that missed")
    evaluate.add_argument("--folds", type=_folds, default=5, help="cross-validation folds (default 5)")
    evaluate.add_argument(
        "--only", action="append", default=[], metavar="PREFIX", help="only the cases whose name starts so"
    )
    evaluate.add_argument(
        "--scorer",
        type=Path,
        help="a benchmark folder answered by this scorer (e.g. index/scorer.json), not cross-validated",
    )
    evaluate.set_defaults(parser=evaluate, handler=_eval)

    about = "fit the ranking and confidence models on a benchmark folder and write them as JSON"
    fit = commands.add_parser("fit", help=about, description=about)
    fit.add_argument(
        "--benchmark", type=Path, default=REPO / "data" / "benchmark", help="default data/benchmark"
    )
    fit.add_argument(
        "--out", type=Path, default=REPO / "index" / "scorer.json", help="default index/scorer.json"
    )
    fit.set_defaults(parser=fit, handler=_fit)

    about = "measure latency, throughput, restarts, reindexing and scale; write docs/benchmarks.md"
    bench = commands.add_parser("bench", help=about, description=about)
    bench.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs; writes no docs")
    bench.set_defaults(parser=bench, handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load .env, configure logging once, run the command."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, with its own usage line
        getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    from dotenv import load_dotenv

    load_dotenv(override=False)
    args.settings = _settings()
    _configure_logging(args.settings.log_level)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
