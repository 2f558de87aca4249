"""`kill -9` of `python run_bot.py reindex` mid-build: the previous index still loads and is
served, a half-written build is never served, and the next start rebuilds what changed.

The reindex runs as a real process (run_bot's own `main`) with the fake embedder and a hook that
announces a point of the build and waits there, so the kill lands exactly at that point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import open_retriever
from index.store import IndexStore
from tests.conftest import REPO, SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder

NEWS = "The city also said it would open a new zebrafish laboratory next spring."
HOLDING = "HOLDING"

# Runs `run_bot.main(["reindex"])` with the fake embedder; argv[1] says where the build stops.
REINDEX_UNTIL = textwrap.dedent(
    f"""
    import os, sys, time
    import numpy as np
    from index import startup
    from tests.fakes import FakeEmbedder

    def hold():
        print({HOLDING!r}, flush=True)
        time.sleep(600)

    startup.load_embedder = lambda settings: FakeEmbedder()
    point = sys.argv[1]
    if point == "embedding":
        FakeEmbedder.embed = lambda self, texts, progress=False: hold()
    elif point == "writing":
        def half_a_file(file, array, allow_pickle=False):
            with open(file, "wb") as handle:
                handle.write(b"\\x93NUMPY half a header")
            hold()
        np.save = half_a_file
    elif point == "renaming":
        real_rename, renames = os.rename, []
        def rename(source, target):
            renames.append(source)
            if len(renames) == 2:  # the old index is aside; the new one not yet in place
                hold()
            real_rename(source, target)
        os.rename = rename
    import run_bot
    sys.exit(run_bot.main(["reindex"]))
    """
)


def staging_dirs(settings: IndexSettings) -> list[Path]:
    return sorted(settings.index_dir.parent.glob(f".{settings.index_dir.name}.tmp-*"))


def kill_reindex_at(point: str, settings: IndexSettings) -> None:
    """Start a reindex, SIGKILL it once it reached `point`, wait for it to be gone."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DISCORD_")}
    environment.update(
        ARTICLES_DIR=str(settings.articles_dir),
        INDEX_DIR=str(settings.index_dir),
        PYTHONPATH=str(REPO),
        PYTHON_DOTENV_DISABLED="1",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-c", REINDEX_UNTIL, point],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == HOLDING, line + process.stdout.read()  # type: ignore[union-attr]
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("point", ["embedding", "writing", "renaming"])
def test_kill_9_during_a_reindex_leaves_the_previous_index_served(settings: IndexSettings, point: str):
    open_retriever(settings, FakeEmbedder())
    previous = IndexStore(settings.index_dir).load()
    article = settings.articles_dir / SHIPPED_ARTICLE.name
    article.write_text(article.read_text() + f"\n{NEWS}\n")

    kill_reindex_at(point, settings)

    # The kill landed where it was meant to: mid-write there is a half-written staging directory;
    # mid-swap the old index has been moved aside and nothing is in its place.
    assert bool(staging_dirs(settings)) == (point in ("writing", "renaming"))
    assert settings.index_dir.exists() == (point != "renaming")
    loaded = IndexStore(settings.index_dir).load()
    assert loaded.passages == previous.passages
    served = Retriever(FakeEmbedder(), loaded, settings=settings)
    assert "expires Aug. 31" in served.ask("When does the contract expire?").hits[0].passage.text

    # The articles changed, so the next start rebuilds, and clears what the killed build left.
    retriever, stats = open_retriever(settings, FakeEmbedder())
    assert stats is not None
    assert retriever.ask("What will the zebrafish laboratory do?").hits[0].passage.text == NEWS
    assert staging_dirs(settings) == []
