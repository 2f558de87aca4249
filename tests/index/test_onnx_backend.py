"""The ONNX Runtime backend computes the torch model's vectors, counts tokens the same way, and
shares the torch backend's identity (fp32) or has its own (int8). Sessions serve a memory-mapped
copy of the export that computes its vectors, or the export itself when no copy can be made."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from index import embedding, onnx_backend
from index.embedding import Embedder, ModelError, default_model_path
from index.onnx_backend import (
    OnnxEmbedder,
    ensure_mapped,
    mapped_model_path,
    read_model_shape,
)
from index.settings import IndexSettings, SettingsError
from index.startup import load_embedder
from tests.conftest import DEV_QUESTIONS, MODEL_CACHE, SHIPPED_ARTICLE


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


def tiny_export(path: Path) -> Path:
    """A small ONNX graph shaped like the export (token ids in, a vector per row out) whose weights are
    big enough to go to the mapped copy's data file, the MatMul's pre-packed."""
    from onnx import TensorProto, helper, numpy_helper, save

    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["tokens"]),
            helper.make_node("MatMul", ["tokens", "weights"], ["mixed"]),
            helper.make_node("ReduceMean", ["mixed"], ["sentence_embedding"], axes=[1], keepdims=0),
        ],
        "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 64])],
        [
            numpy_helper.from_array(rng.standard_normal((100, 64), dtype=np.float32), "table"),
            numpy_helper.from_array(rng.standard_normal((64, 64), dtype=np.float32), "weights"),
        ],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), path)
    return path


def run(path: Path, ids: list[list[int]]) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": np.array(ids, dtype=np.int64)})[0]


def test_the_mapped_copy_is_written_once_read_only_and_computes_the_exports_vectors(tmp_path: Path):
    export = tiny_export(tmp_path / "model-fp32.onnx")

    mapped = ensure_mapped(export)

    assert mapped == mapped_model_path(export)
    assert mapped.parent.parent == tmp_path
    assert sorted(file.name for file in mapped.parent.iterdir()) == ["model.onnx", "model.onnx.data"]
    assert all(
        not file.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        for file in mapped.parent.iterdir()
    )
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no staging left
    ids = [[5, 17, 99, 3], [42, 0, 0, 0]]
    assert np.array_equal(run(mapped, ids), run(export, ids))
    written = mapped.stat().st_mtime_ns
    assert ensure_mapped(export) == mapped
    assert mapped.stat().st_mtime_ns == written  # found, not written again


def test_a_session_maps_the_copys_data_file_and_survives_its_deletion(tmp_path: Path):
    import onnxruntime

    export = tiny_export(tmp_path / "model-fp32.onnx")
    mapped = ensure_mapped(export)
    assert mapped is not None
    session = onnxruntime.InferenceSession(str(mapped), providers=["CPUExecutionProvider"])
    ids = np.array([[5, 17, 99, 3]], dtype=np.int64)
    before = session.run(None, {"input_ids": ids})[0]

    assert str(mapped.with_name("model.onnx.data")) in Path("/proc/self/maps").read_text()
    shutil.rmtree(mapped.parent)  # what a cleanup of the cache does under a running process
    assert np.array_equal(session.run(None, {"input_ids": ids})[0], before)


def test_without_a_mapped_copy_the_export_is_served_and_the_log_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    export = tiny_export(tmp_path / "model-fp32.onnx")
    monkeypatch.setattr(onnx_backend, "MAPPED_TOLERANCE", -1.0)  # no copy can be close enough

    with caplog.at_level(logging.WARNING, logger="index.onnx_backend"):
        assert ensure_mapped(export) is None

    assert [record.getMessage() for record in caplog.records] == [
        "each process keeps a private copy of the model's weights: "
        "a mapped copy of model-fp32.onnx computes different vectors (by 0)"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model-fp32.onnx"]  # nothing left behind


def test_a_copy_another_process_renamed_into_place_first_is_kept(tmp_path: Path):
    export = tiny_export(tmp_path / "model-fp32.onnx")
    mapped = ensure_mapped(export)
    assert mapped is not None
    theirs = mapped.read_bytes()

    onnx_backend._atomically_in_folder(
        mapped.parent, lambda staging: onnx_backend.write_mapped(export, staging / "model.onnx")
    )

    assert mapped.read_bytes() == theirs
    assert sorted(path.name for path in tmp_path.iterdir()) == [mapped.parent.name, "model-fp32.onnx"]


def test_an_export_onnx_runtime_cannot_read_is_a_model_error_and_no_copy(tmp_path: Path):
    export = tmp_path / "model-fp32.onnx"
    export.write_bytes(b"not a model")

    assert ensure_mapped(export) is None
    with pytest.raises(ModelError, match="could not load the ONNX model"):
        OnnxEmbedder(default_model_path(), export, identity="broken")


@pytest.mark.slow
def test_the_mapped_session_computes_the_exports_vectors(real_embedder: Embedder):
    assert isinstance(real_embedder, OnnxEmbedder)
    private = OnnxEmbedder(
        real_embedder.model_path, real_embedder.onnx_path, identity=real_embedder.identity, mapped=False
    )
    texts = sample_texts()

    assert real_embedder.session_path == mapped_model_path(real_embedder.onnx_path)
    assert private.session_path == real_embedder.onnx_path
    assert np.abs(real_embedder.embed(texts) - private.embed(texts)).max() <= 1e-6
    maps = Path("/proc/self/maps").read_text()
    assert str(real_embedder.session_path.with_name("model.onnx.data")) in maps


@pytest.mark.slow
def test_the_mapped_int8_session_computes_the_int8_exports_vectors():
    mapped = load_embedder(IndexSettings(model_cache_dir=MODEL_CACHE, embedding_backend="onnx-int8"))
    assert isinstance(mapped, OnnxEmbedder)
    private = OnnxEmbedder(mapped.model_path, mapped.onnx_path, identity=mapped.identity, mapped=False)
    texts = sample_texts()

    assert mapped.session_path == mapped_model_path(mapped.onnx_path)
    assert np.abs(mapped.embed(texts) - private.embed(texts)).max() <= 1e-6


def test_tokens_are_counted_untruncated_by_a_tokenizer_loaded_at_the_first_count(tmp_path: Path):
    embedder = OnnxEmbedder(default_model_path(), tiny_export(tmp_path / "model-fp32.onnx"), identity="tiny")

    assert embedder._counter is None  # a process that only answers never holds a second vocabulary
    assert embedder.count_tokens("ice " * 300) == 300  # beyond the 256-token window
    assert embedder.count_tokens("") == 0


def anonymous_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no Anonymous line in /proc/self/smaps_rollup")


@pytest.mark.slow
def test_a_build_sized_call_hands_back_the_memory_it_grew_into(real_embedder: Embedder):
    assert isinstance(real_embedder, OnnxEmbedder)
    fresh = OnnxEmbedder(real_embedder.model_path, real_embedder.onnx_path, identity=real_embedder.identity)
    fresh.embed(sample_texts()[:8])  # what answering grows into, kept
    before = anonymous_mb()

    vectors = fresh.embed(["ICE arrests in Philadelphia " * 60] * 64)  # two batches of 32 × 256 tokens

    assert np.allclose(vectors, real_embedder.embed(["ICE arrests in Philadelphia " * 60]), atol=1e-6)
    assert anonymous_mb() - before < 100  # kept, it would be ~300 MB


def test_a_mapped_copy_that_fails_to_load_gives_way_to_the_export(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    export = tiny_export(tmp_path / "model-fp32.onnx")
    mapped = ensure_mapped(export)
    assert mapped is not None
    mapped.with_name("model.onnx.data").unlink()

    with caplog.at_level(logging.WARNING, logger="index.onnx_backend"):
        embedder = OnnxEmbedder(default_model_path(), export, identity="tiny")

    assert embedder.session_path == export
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "loading the export instead of its mapped copy, which failed"
    ]
