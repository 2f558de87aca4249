"""Second stage: named features of each candidate passage, and of each question's ranking.

Every feature means the same on a 13-paragraph story and a 150-paragraph encyclopedia page: raw
cosines (the model's own scale), and otherwise scores relative to the question's other candidates
(z-scores, shares of the best). A new signal is a new name here plus a re-fit (`run_bot.py
fit`), never a rule; docs/retrieval.md has the ablations behind each one.
"""

from __future__ import annotations

import numpy as np

from index.candidates import Candidates

# Per candidate passage (columns of `candidate_features`, in this order).
CANDIDATE_FEATURES = (
    "dense",  # best cosine of any of the passage's vectors
    "sentence",  # … of the passage or one of its sentences (clauses score higher against anything)
    "whole",  # … of the passage's own vector
    "dense_z",  # z-score among the question's candidates
    "lexical_z",  # BM25 z-score
    "lexical_share",  # BM25 / the best BM25 among the candidates
    "lexical_z_covered",  # lexical_z × the share of the question's terms the articles use
    "coverage",  # the question's: the same for all its candidates
    "terms",  # log(1 + distinct terms of the question)
)
FEATURE_INDEX = {name: number for number, name in enumerate(CANDIDATE_FEATURES)}

# Per question, from its ranked candidates (see `question_features`).
QUESTION_FEATURES = (
    "top_score",  # the ranking model's logit of the first passage
    "margin",  # … minus the second's (0 with a single candidate)
    "top_share",  # softmax share of the first among the candidates
    "top_sentence",
    "top_dense",
    "best_sentence",
    "top_lexical_share",
    "coverage",
    "terms",
    "candidates",  # log of how many
)


def _zscores(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the z-scores of the entries `mask` selects (0 elsewhere, and where they don't vary).
    In float64: float32 sums spread equal values by rounding."""
    picked = np.where(mask, values, 0).astype(np.float64)
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    mean = picked.sum(axis=1, keepdims=True) / count
    deviation = np.where(mask, picked - mean, 0)
    spread = np.sqrt((deviation**2).sum(axis=1, keepdims=True) / count)
    return np.divide(deviation, spread, out=np.zeros_like(deviation), where=spread > 1e-9)


def candidate_features(candidates: Candidates) -> np.ndarray:
    """(questions, candidates, CANDIDATE_FEATURES) float32 for the batch; entries outside `mask` are
    meaningless."""
    c = candidates
    mask = c.mask
    covered = c.coverage[:, None]
    lexical_best = np.where(mask, c.lexical, 0).max(axis=1, keepdims=True)
    lexical_z = _zscores(c.lexical, mask)
    columns = {
        "dense": c.dense,
        "sentence": c.sentence,
        "whole": c.whole,
        "dense_z": _zscores(c.dense, mask),
        "lexical_z": lexical_z,
        "lexical_share": np.divide(
            c.lexical, lexical_best, out=np.zeros(c.lexical.shape), where=lexical_best > 0
        ),
        "lexical_z_covered": lexical_z * covered,
        "coverage": np.broadcast_to(covered, mask.shape),
        "terms": np.broadcast_to(np.log1p(c.terms)[:, None], mask.shape),
    }
    return np.stack([columns[name] for name in CANDIDATE_FEATURES], axis=-1).astype(np.float32)


def question_features(scores: np.ndarray, features: np.ndarray) -> np.ndarray:
    """QUESTION_FEATURES of one question from its candidates' ranking-model `scores` (best first)
    and `features` (candidates × CANDIDATE_FEATURES, in the same order)."""
    f = FEATURE_INDEX
    top = features[0]
    shares = np.exp(scores - scores[0])
    return np.array(
        [
            scores[0],
            scores[0] - scores[1] if len(scores) > 1 else 0.0,
            1 / shares.sum(),
            top[f["sentence"]],
            top[f["dense"]],
            features[:, f["sentence"]].max(),
            top[f["lexical_share"]],
            top[f["coverage"]],
            top[f["terms"]],
            np.log(len(scores)),
        ],
        dtype=np.float32,
    )
