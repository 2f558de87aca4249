"""Retrieval over news articles: article files → passages → vectors → FAISS store → cited answers.

Nothing here imports discord. Heavy libraries (torch, sentence-transformers, faiss) are imported only
by the modules that need them, so importing this package is cheap.
"""

from __future__ import annotations

from index.answer import Answer, Confidence, Hit
from index.passages import Passage

__all__ = ["Answer", "Confidence", "Hit", "Passage"]
