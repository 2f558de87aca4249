"""The child process of the cold-start measurement: `python -m bench.cold_start SPAWNED BACKEND QUESTION`.

Times each step of getting ready from the moment the parent spawned it (so interpreter start and
imports are real), with ARTICLES_DIR and INDEX_DIR from the environment, and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    spawned, backend, question = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    marks: dict[str, float] = {"interpreter": time.time() - spawned}
    memory: dict[str, float] = {}

    def mark(name: str) -> None:
        from bench.measure import memory_mb

        marks[name] = time.time() - spawned
        memory[name] = memory_mb()

    import os

    os.environ["EMBEDDING_BACKEND"] = backend
    # What the answer path imports: ours, then the backend's libraries (loaded lazily in the product,
    # imported here first so that model load and imports are told apart).
    import faiss  # noqa: F401

    from index.retriever import Retriever
    from index.settings import IndexSettings
    from index.startup import load_embedder, staleness
    from index.store import IndexStore

    if backend == "torch":
        import sentence_transformers  # noqa: F401
    else:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    mark("imports")
    settings = IndexSettings.from_env()
    embedder = load_embedder(settings)
    mark("model")
    data = IndexStore(settings.index_dir).load()
    reason = staleness(data, settings, embedder)
    if reason is not None:
        sys.exit(f"the benchmark index is stale: {reason}")
    retriever = Retriever(embedder, data, settings=settings)
    mark("index")
    answer = retriever.ask(question)
    mark("answer")
    from bench.measure import memory_mb

    result = {
        "marks": marks,
        "memory_mb": memory,
        "peak_mb": memory_mb("VmHWM"),
        "torch_imported": "torch" in sys.modules,
        "hits": len(answer.hits),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
