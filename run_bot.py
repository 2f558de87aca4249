"""The one entry point: `python run_bot.py [command]`.

Without a command: the Discord bot when DISCORD_TOKEN is set, else a terminal chat. Commands:
ask, reindex, eval, bench (and `--help` on each). Settings come from the environment and `.env`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.retriever import Retriever

# Before anything can import huggingface_hub: weights come from local folders only.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger("run_bot")

TERMINAL_BANNER = (
    "Terminal mode (no DISCORD_TOKEN set): type a question about the article, Ctrl-D to quit. "
    "To run the Discord bot, put DISCORD_TOKEN in .env (see README)."
)


def _configure_logging() -> None:
    level_name = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    level = logging.getLevelNamesMapping().get(level_name)
    if level is None:
        sys.exit(f"LOG_LEVEL {level_name!r} is not a logging level (DEBUG, INFO, WARNING, ERROR)")
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    for noisy in ("faiss.loader", "sentence_transformers", "httpx", "transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _open_retriever() -> Retriever:
    # Imports inside: `--help` and the Discord path's settings errors stay instant.
    from index.articles import ArticleError
    from index.embedding import ModelError
    from index.settings import IndexSettings
    from index.startup import open_retriever

    try:
        retriever, _ = open_retriever(IndexSettings.from_env())
    except (ArticleError, ModelError) as error:
        sys.exit(f"error: {error}")
    except OSError as error:
        sys.exit(_file_error(error))
    return retriever


def _file_error(error: OSError) -> str:
    """One line for a file system problem a setting can cause (INDEX_DIR under a file, no space...)."""
    where = f": {error.filename}" if error.filename else ""
    return f"error: {error.strerror or error}{where} (check INDEX_DIR and ARTICLES_DIR)"


def _default(_: argparse.Namespace) -> int:
    if os.environ.get("DISCORD_TOKEN") is not None:
        import bot

        return bot.run()
    print(TERMINAL_BANNER, file=sys.stderr)
    from index.console import chat

    retriever = _open_retriever()
    chat(retriever, sys.stdin, sys.stdout, prompt=sys.stdin.isatty())
    return 0


def _ask(args: argparse.Namespace) -> int:
    from index.console import ask, stdin_questions

    retriever = _open_retriever()
    questions = args.question or stdin_questions()
    ask(retriever, questions, sys.stdout, k=args.k, as_json=args.json)
    return 0


def _reindex(_: argparse.Namespace) -> int:
    from index.articles import ArticleError
    from index.build import rebuild
    from index.embedding import ModelError
    from index.settings import IndexSettings
    from index.startup import load_embedder
    from index.store import IndexStore, IndexUnavailable

    settings = IndexSettings.from_env()
    try:
        embedder = load_embedder(settings)
        try:
            previous = IndexStore(settings.index_dir).load()
        except IndexUnavailable:
            previous = None
        _, stats = rebuild(settings, embedder, previous)
    except (ArticleError, ModelError) as error:
        sys.exit(f"error: {error}")
    except OSError as error:
        sys.exit(_file_error(error))
    for warning in stats.warnings:
        print(f"warning: {warning}")
    print(
        f"articles {stats.articles}, passages {stats.passages}, embedded {stats.embedded}, "
        f"reused {stats.reused}, seconds {stats.seconds:.2f}"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from index.evaluation import load_questions, score

    try:
        questions = load_questions(args.file)
    except (OSError, ValueError) as error:
        sys.exit(f"error: {error}")
    retriever = _open_retriever()
    answers = retriever.ask_many([q.question for q in questions], 3)
    report = score(questions, answers)
    print(report.table())
    if args.verbose:
        print("\n".join(["", *report.misses]))
    return 0


def _bench(args: argparse.Namespace) -> int:
    # A dev command: bench/ is not part of the product and needs requirements-dev.txt (matplotlib).
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


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError("must be between 1 and 20")
    return value


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
    ask.set_defaults(handler=_ask)

    about = "rebuild the index from ARTICLES_DIR"
    reindex = commands.add_parser("reindex", help=about, description=about)
    reindex.set_defaults(handler=_reindex)

    about = "retrieval quality on a JSONL question set"
    evaluate = commands.add_parser("eval", help=about, description=about)
    evaluate.add_argument("file", type=Path, help="questions, e.g. tests/data/dev.jsonl")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="list the questions that missed")
    evaluate.set_defaults(handler=_eval)

    about = "measure latency, throughput, restarts, reindexing and scale; write docs/benchmarks.md"
    bench = commands.add_parser("bench", help=about, description=about)
    bench.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs; writes no docs")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load .env, configure logging once, run the command."""
    args = build_parser().parse_args(argv)
    from dotenv import load_dotenv

    load_dotenv(override=False)
    _configure_logging()
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
