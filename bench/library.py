"""Adding an article from the command line until it can be answered (issue 14), timed end to end:
`python run_bot.py articles add PAGE` in a fresh process, from spawn to exit (by then the rebuilt
index is saved, so the next question is answered from it).

    python -m bench.library [--articles 2000] [--paragraphs 15] [--runs 3]

(a) a 30-paragraph web page added to the shipped article's library, with the real model; (b) one
article added to a library of `--articles` synthetic articles (bench.corpus). Embedding that library
with the real model would take most of an hour here, so its vectors are stand-ins made under the
real model's identity, token counts and window (`StandIn`): the rebuild reuses them as it would real
ones, and only the new article meets the real model. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import write_articles
from bench.machine import describe_machine
from bench.measure import median
from index.articles import read_article
from index.build import rebuild
from index.embedding import Embedder
from index.settings import IndexSettings
from index.startup import load_embedder

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data" / "articles"
SOURCE = REPO / "data" / "benchmark" / "encyclopedia" / "new-york-city" / "articles" / "new-york-city.txt"
MODELS = REPO / "var" / "models"
_BUILT = re.compile(r"index built: .*?, (\d+) embedded, (\d+) reused, ([\d.]+) s")


class StandIn:
    """The real model's identity, window and token counts, with vectors made from a hash of the text:
    what a library embedded long ago looks like to a rebuild, without an hour of embedding."""

    def __init__(self, real: Embedder) -> None:
        self.identity, self.dimension, self.max_tokens = real.identity, real.dimension, real.max_tokens
        self.count_tokens = real.count_tokens

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        rows = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            row[:] = np.random.default_rng(seed).standard_normal(self.dimension)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def web_page(source: Path, paragraphs: int) -> str:
    """A news-site page holding the first `paragraphs` paragraphs of an article, with navigation and
    a footer around them."""
    article = read_article(source)
    body = "\n".join(f"<p>{html.escape(text)}</p>" for text in article.paragraphs[:paragraphs])
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(article.title)}</title></head>"
        "<body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{html.escape(article.title)}</h1>{body}</article>"
        "<footer>© 2024 Example News. All rights reserved.</footer></body></html>"
    )


def _environment(settings: IndexSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ARTICLES_DIR=str(settings.articles_dir),
        INDEX_DIR=str(settings.index_dir),
        MODEL_CACHE_DIR=str(MODELS),
        PYTHONPATH=str(REPO),
        PYTHON_DOTENV_DISABLED="1",
        LOG_LEVEL="INFO",
    )
    env.pop("DISCORD_TOKEN", None)
    return env


def add_from_the_shell(settings: IndexSettings, page: Path) -> dict[str, Any]:
    """`run_bot.py articles add PAGE` in a fresh process: wall seconds from spawn to exit, the
    command's own seconds (model load, add, rebuild and save), and what the rebuild embedded."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), "articles", "add", str(page)],
        env=_environment(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"articles add failed:\n{done.stderr[-3000:]}")
    built = _BUILT.search(done.stderr)
    assert built is not None, done.stderr
    command = float(done.stdout.rsplit("seconds ", 1)[1])
    return {
        "wall_s": wall,
        "command_s": command,
        "rebuild_s": float(built.group(3)),
        "embedded": int(built.group(1)),
        "reused": int(built.group(2)),
        "passages": int(re.search(r"passages (\d+)", done.stdout).group(1)),
    }


def answers_from(settings: IndexSettings, question: str) -> str:
    """The article the first passage of `run_bot.py ask --json QUESTION` comes from."""
    done = subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), "ask", "--json", question],
        env=_environment(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["passages"][0]["article"]


def page_into_small_library(work: Path, runs: int, paragraphs: int) -> dict[str, Any]:
    """(a): the page added to a copy of the shipped library whose index is current, `runs` times."""
    page = work / "page.html"
    page.write_text(web_page(SOURCE, paragraphs), encoding="utf-8")
    real = load_embedder(IndexSettings(model_cache_dir=MODELS))
    results = []
    for run in range(runs):
        root = work / f"small-{run}"
        settings = IndexSettings(
            articles_dir=root / "articles", index_dir=root / "index", model_cache_dir=MODELS
        )
        shutil.copytree(SHIPPED, settings.articles_dir)
        rebuild(settings, real, None)
        results.append(add_from_the_shell(settings, page))
    answered = answers_from(settings, "What is the population of New York City?")
    return {
        "paragraphs": paragraphs,
        "runs": results,
        "median_wall_s": median([r["wall_s"] for r in results]),
        "median_command_s": median([r["command_s"] for r in results]),
        "answered_from": answered,
    }


def article_into_large_library(
    work: Path, articles: int, paragraphs: int, page_paragraphs: int
) -> dict[str, Any]:
    """(b): the page added to a library of `articles` synthetic articles of `paragraphs` paragraphs."""
    settings = IndexSettings(articles_dir=work / "large" / "articles", index_dir=work / "large" / "index")
    write_articles(
        settings.articles_dir,
        SHIPPED / "philadelphia-ice-arrest-data.txt",
        passages=articles * paragraphs,
        per_article=paragraphs,
    )
    real = load_embedder(IndexSettings(model_cache_dir=MODELS))
    started = time.perf_counter()
    _, stats = rebuild(settings, StandIn(real), None)
    first_build = time.perf_counter() - started
    page = work / "page.html"
    page.write_text(web_page(SOURCE, page_paragraphs), encoding="utf-8")
    added = add_from_the_shell(settings, page)
    return {
        "articles": articles,
        "paragraphs_each": paragraphs,
        "passages": stats.passages,
        "vectors": stats.vectors,
        "stand_in_build_s": first_build,
        "add": added,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.library", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles in the large library (2000)")
    parser.add_argument("--paragraphs", type=int, default=15, help="paragraphs of each of them (15)")
    parser.add_argument("--page-paragraphs", type=int, default=30, help="paragraphs of the page added (30)")
    parser.add_argument("--runs", type=int, default=3, help="adds to the small library (3)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": describe_machine()}
    with tempfile.TemporaryDirectory(prefix="bench-library-") as scratch:
        work = Path(scratch)
        results["small"] = page_into_small_library(work, args.runs, args.page_paragraphs)
        results["large"] = article_into_large_library(
            work, args.articles, args.paragraphs, args.page_paragraphs
        )
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
