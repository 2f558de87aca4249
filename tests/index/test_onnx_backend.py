"""The ONNX Runtime backend computes the torch model's vectors, counts tokens the same way, and
shares the torch backend's identity (fp32) or has its own (int8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from index import embedding
from index.embedding import ModelError, default_model_path
from index.onnx_backend import read_model_shape
from index.settings import IndexSettings, SettingsError
from index.startup import load_embedder
from tests.conftest import DEV_QUESTIONS, SHIPPED_ARTICLE


def sample_texts() -> list[str]:
    questions = [
        json.loads(line)["question"] for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()
    ]
    paragraphs = [p for p in SHIPPED_ARTICLE.read_text().split("\n\n") if p.strip()]
    return questions[:40] + paragraphs[:40] + ["", "a", "ICE ICE ICE " * 200]  # empty, tiny, truncated


def test_the_packaged_model_is_mean_pooled_normalised_with_a_256_token_window():
    shape = read_model_shape(default_model_path())
    assert (shape.pooling, shape.normalize, shape.max_seq_length, shape.dimension) == ("mean", True, 256, 384)


def test_a_pipeline_the_onnx_backend_cannot_reproduce_is_refused(tmp_path: Path):
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    with pytest.raises(ModelError, match="EMBEDDING_BACKEND=torch"):
        read_model_shape(tmp_path)


def test_an_unknown_backend_is_named_in_the_error():
    with pytest.raises(
        SettingsError, match=r"^EMBEDDING_BACKEND: 'tensorflow' is not one of onnx, onnx-int8, torch$"
    ):
        IndexSettings.from_env({"EMBEDDING_BACKEND": "tensorflow"})


def test_the_backend_is_read_from_the_environment():
    assert IndexSettings.from_env({"EMBEDDING_BACKEND": " ONNX-int8 "}).embedding_backend == "onnx-int8"
    assert IndexSettings.from_env({}).embedding_backend == "onnx"


@pytest.mark.slow
def test_onnx_vectors_match_torch_and_int8_stays_close(tmp_path: Path):
    cache = IndexSettings(index_dir=tmp_path / "index", model_cache_dir=tmp_path / "models")
    torch = load_embedder(IndexSettings(embedding_backend="torch"))
    fp32 = load_embedder(cache)
    int8 = load_embedder(cache.model_copy(update={"embedding_backend": "onnx-int8"}))
    texts = sample_texts()
    reference = torch.embed(texts)

    assert fp32.identity == torch.identity  # same vectors: an index built by one serves the other
    assert int8.identity != torch.identity  # different vectors: switching rebuilds
    assert (fp32.dimension, fp32.max_tokens) == (torch.dimension, torch.max_tokens)
    assert [fp32.count_tokens(t) for t in texts] == [torch.count_tokens(t) for t in texts]

    fp32_cosines = np.sum(fp32.embed(texts) * reference, axis=1)
    int8_cosines = np.sum(int8.embed(texts) * reference, axis=1)
    assert fp32_cosines.min() >= 0.999
    assert int8_cosines.mean() >= 0.99
    assert int8_cosines.min() >= 0.95
    # batching (padding, length sorting) does not change a text's vector
    alone = np.stack([fp32.embed([t])[0] for t in texts[:10]])
    assert np.allclose(alone, fp32.embed(texts)[:10], atol=1e-5)
    assert (cache.model_cache_dir).is_dir()


def test_the_fingerprint_is_remembered_until_a_model_file_changes(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights one")
    cache = tmp_path / "models"
    first = embedding.model_fingerprint(model, cache_dir=cache)
    embedding._FINGERPRINTS.clear()
    assert embedding.model_fingerprint(model, cache_dir=cache) == first
    assert (cache / "fingerprints.json").is_file()

    (model / "model.safetensors").write_bytes(b"weights two")
    stat = (model / "model.safetensors").stat()
    os.utime(model / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert embedding.model_fingerprint(model, cache_dir=cache) != first
