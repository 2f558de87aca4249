"""The sentence-transformers model run by ONNX Runtime: same vectors, no torch at answer time.

The packaged model is exported once with `torch.onnx.export` (pooling and L2 normalisation inside
the graph) into a cache directory, optionally quantised to int8; later processes load the cached file
with onnxruntime and tokenize with the `tokenizers` library, so neither torch nor sentence-transformers
is imported. Exporting takes a few seconds and happens on the first start after a model change.

Sessions load a *mapped copy* of the export, also made once: the graph as ONNX Runtime optimises it,
beside a data file holding its weights both as read and as pre-packed for this CPU's kernels
(`session.save_external_prepacked_constant_initializers`). ONNX Runtime memory-maps that file
read-only, so every process on the machine serves from the same page-cache pages instead of a
private copy of its own (the weights were most of a process's private memory: bench/process_memory.py).
The copy is checked against the export before it is used; where it can't be made, sessions load the
export itself. Like the export, the copy is only ever replaced by a rename, never written in place:
a file truncated under a running process would kill it (SIGBUS), so its files are read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from index.embedding import ModelError, model_fingerprint

if TYPE_CHECKING:
    from onnxruntime import InferenceSession, SessionOptions
    from tokenizers import Encoding, Tokenizer

log = logging.getLogger(__name__)

Variant = Literal["fp32", "int8"]
# Bump when the exported graph changes, so caches made by an older exporter are not reused.
EXPORT_VERSION = 1
# Bump when the mapped copy is written differently, so copies made by an older version are not reused.
MAPPED_VERSION = 1
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# What the mapped copy is checked with: small token ids (every vocabulary has them), one padded row.
_PROBE_IDS = np.array([[1, 23, 45, 67, 89, 2], [1, 34, 56, 2, 0, 0]], dtype=np.int64)
# Padded tokens of the largest batch a call may run and keep the memory it grew into: a full batch of
# 32 questions of up to 32 tokens (about 20 MB). A larger batch grows it by up to ~300 MB (32 passages
# of 256 tokens), which is handed back after the call's last batch, costing that batch 4-8%.
KEEP_ARENA_TOKENS = 32 * 32
# Largest difference from the export's vectors the mapped copy may make (the same kernels reading the
# same weights make none).
MAPPED_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ModelShape:
    """What the sentence-transformers folder says about pooling, normalisation and length."""

    pooling: Literal["mean", "cls"]
    normalize: bool
    max_seq_length: int
    dimension: int


def read_model_shape(path: Path) -> ModelShape:
    """Pooling, normalisation and window of a sentence-transformers folder; ModelError if the ONNX
    backend can't reproduce its pipeline (then EMBEDDING_BACKEND=torch still can)."""
    modules = _read_json(path / "modules.json", default=[])
    types = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    pooling_dir = next((m["path"] for m in modules if str(m.get("type", "")).endswith(".Pooling")), None)
    pooling_config = _read_json(path / pooling_dir / "config.json", default={}) if pooling_dir else {}
    modes = [key for key, on in pooling_config.items() if key.startswith("pooling_mode_") and on]
    if not pooling_config or modes == ["pooling_mode_mean_tokens"]:
        pooling: Literal["mean", "cls"] = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        pooling = "cls"
    else:
        raise ModelError(
            f"the ONNX backend can't reproduce pooling {modes} of {str(path)!r}; set EMBEDDING_BACKEND=torch"
        )
    unsupported = sorted(set(types) - {"Transformer", "Pooling", "Normalize", ""})
    if unsupported:
        raise ModelError(
            f"the ONNX backend can't run the {', '.join(unsupported)} module(s) of {str(path)!r}; "
            "set EMBEDDING_BACKEND=torch"
        )
    config = _read_json(path / "config.json", default={})
    window = int(_read_json(path / "sentence_bert_config.json", default={}).get("max_seq_length") or 512)
    window = min(window, int(config.get("max_position_embeddings", window)))
    dimension = int(pooling_config.get("word_embedding_dimension") or config.get("hidden_size") or 0)
    return ModelShape(
        pooling=pooling, normalize="Normalize" in types, max_seq_length=window, dimension=dimension
    )


def _read_json(path: Path, *, default: object) -> object:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def cached_model_path(model_path: Path, cache_dir: Path, variant: Variant) -> Path:
    """Where the exported model for this model folder, exporter version and variant lives."""
    folder = f"{model_path.name}-{model_fingerprint(model_path, cache_dir=cache_dir)}-v{EXPORT_VERSION}"
    return cache_dir / folder / f"model-{variant}.onnx"


def ensure_exported(model_path: Path, cache_dir: Path, variant: Variant) -> Path:
    """The cached ONNX file for `variant`, exporting (and quantising) it first if it is missing."""
    target = cached_model_path(model_path, cache_dir, variant)
    if target.is_file():
        return target
    fp32 = cached_model_path(model_path, cache_dir, "fp32")
    if not fp32.is_file():
        log.info("exporting the embedding model to ONNX once (a few seconds): %s", fp32)
        _atomically(fp32, lambda staging: export_onnx(model_path, staging))
    if variant == "int8":
        log.info("quantising the ONNX model to int8 once: %s", target)
        _atomically(target, lambda staging: quantize_int8(fp32, staging))
    return target


def _atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Run `write(staging_path)` and rename the result to `target` (concurrent exporters are fine:
    each writes its own staging file and the last rename wins with identical bytes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(Path(staging))
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def mapped_model_path(onnx_path: Path) -> Path:
    """Where the mapped copy of the exported `onnx_path` lives: in a folder beside it named after this
    ONNX Runtime and CPU, which its pre-packed weights are laid out for."""
    return onnx_path.with_name(f"{onnx_path.stem}-mapped-v{MAPPED_VERSION}-{_runtime_key()}") / "model.onnx"


def _runtime_key() -> str:
    import onnxruntime

    features = platform.machine()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        features += next((line for line in lines if line.startswith(("flags", "Features"))), "")
    return f"ort{onnxruntime.__version__}-{hashlib.sha256(features.encode()).hexdigest()[:8]}"


def ensure_mapped(onnx_path: Path) -> Path | None:
    """The mapped copy of `onnx_path`, writing it first if it is missing; None, logged, when this
    ONNX Runtime can't make one that computes the export's vectors."""
    target = mapped_model_path(onnx_path)
    if target.is_file():
        return target
    log.info("writing a memory-mappable copy of the ONNX model once (a few seconds): %s", target.parent)
    try:
        _atomically_in_folder(target.parent, lambda staging: write_mapped(onnx_path, staging / target.name))
    except (ModelError, OSError) as error:
        log.warning("each process keeps a private copy of the model's weights: %s", error)
        return None
    return target


def _atomically_in_folder(target: Path, write: Callable[[Path], None]) -> None:
    """Run `write(staging_folder)` and rename the folder to `target` (concurrent writers are fine:
    the first rename wins and the others' identical folders are deleted)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(staging)
        for file in staging.iterdir():
            file.chmod(0o444)  # mapped by running processes: replaced whole, never written in place
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "model.onnx").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_mapped(source: Path, destination: Path) -> None:
    """Save the ONNX model `source` as ONNX Runtime optimises it to `destination`, its weights as read
    and as pre-packed in `destination`.data; ModelError unless it wrote that file and a session on
    the copy computes `source`'s vectors."""
    data = destination.with_name(destination.name + ".data")
    options = _session_options(threads=1)
    options.optimized_model_filepath = str(destination)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", data.name)
    options.add_session_config_entry("session.save_external_prepacked_constant_initializers", "1")
    try:
        # The session that writes the copy computes what a session on the export computes.
        expected = _probe(_open_session(source, options))
        vectors = _probe(_open_session(destination, _session_options(threads=1)))
    except Exception as error:  # onnxruntime raises its own exception types
        raise ModelError(f"could not write a mapped copy of {str(source)!r}: {error}") from error
    if not data.is_file():
        raise ModelError(f"ONNX Runtime wrote no data file beside {destination.name} to map")
    if vectors.shape != expected.shape:
        raise ModelError(f"a mapped copy of {source.name} computes vectors of shape {vectors.shape}")
    difference = float(np.max(np.abs(vectors - expected)))
    if difference > MAPPED_TOLERANCE:
        raise ModelError(f"a mapped copy of {source.name} computes different vectors (by {difference:.2g})")


def _probe(session: InferenceSession) -> np.ndarray:
    """The session's vectors for the probe's token ids."""
    feeds = {
        "input_ids": _PROBE_IDS,
        "attention_mask": (_PROBE_IDS != 0).astype(np.int64),
        "token_type_ids": np.zeros_like(_PROBE_IDS),
    }
    names = {item.name for item in session.get_inputs()}
    (vectors,) = session.run(None, {name: value for name, value in feeds.items() if name in names})
    return vectors


def _session_options(threads: int) -> SessionOptions:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # No busy-waiting between runs: in the bot the same cores serve the event loop and FAISS.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _open_session(path: Path, options: SessionOptions) -> InferenceSession:
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_onnx(model_path: Path, destination: Path) -> None:
    """Export the transformer plus pooling and normalisation as one ONNX graph (imports torch)."""
    shape = read_model_shape(model_path)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bar
    try:
        import torch
        from transformers import AutoModel
    except ImportError as error:
        raise ModelError(f"exporting to ONNX needs torch and transformers ({error})") from error

    # Eager attention: the SDPA path drops an all-ones mask while tracing, which would bake
    # "no padding" into the graph.
    try:
        model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager")
    except Exception as error:  # transformers raises many types for a folder it can't read
        raise ModelError(f"could not load {str(model_path)!r} for the ONNX export: {error}") from error
    model.eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if shape.pooling == "cls":
                pooled = tokens[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1) if shape.normalize else pooled

    # A padded row in the example batch, so the traced graph keeps the mask arithmetic general.
    example = (
        torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64),
        torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.int64),
        torch.zeros((2, 4), dtype=torch.int64),
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter warnings about constant shapes
        torch.onnx.export(
            SentenceEncoder(),
            example,
            str(destination),
            input_names=list(_INPUTS),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def quantize_int8(source: Path, destination: Path) -> None:
    """Dynamic int8 quantisation of the weights, per channel (measured closest to fp32)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs a line per tensor (and a pre-processing hint) on the root logger: noise for a
    # one-time step whose result the tests check.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(source), str(destination), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


class OnnxEmbedder:
    """Embeds with ONNX Runtime on the CPU; thread-safe (one run at a time, like the torch backend).

    The session loads the mapped copy of `onnx_path` (made once, see the module's docstring) unless
    `mapped` is False or no copy can be made; `session_path` says which file it loaded."""

    def __init__(
        self,
        model_path: Path,
        onnx_path: Path,
        *,
        identity: str,
        batch_size: int = 32,
        threads: int = 0,
        mapped: bool = True,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        shape = read_model_shape(model_path)
        options = _session_options(threads)
        mapped_path = ensure_mapped(onnx_path) if mapped else None
        self.session_path = mapped_path or onnx_path
        try:
            self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
            try:
                self._session = _open_session(self.session_path, options)
            except Exception as error:
                if self.session_path == onnx_path:
                    raise
                log.warning("loading the export instead of its mapped copy, which failed: %s", error)
                self.session_path = onnx_path
                self._session = _open_session(onnx_path, options)
        except Exception as error:  # tokenizers and onnxruntime raise their own exception types
            raise ModelError(f"could not load the ONNX model {str(onnx_path)!r}: {error}") from error
        self._tokenizer.no_padding()  # padded per batch below, to the longest text of that batch
        self._tokenizer.enable_truncation(max_length=shape.max_seq_length)
        # Counting needs a tokenizer that doesn't truncate; only builds count, so a process that only
        # answers never loads it (each copy of the vocabulary is ~8 MB of private memory).
        self._counter: Tokenizer | None = None
        self._counter_lock = threading.Lock()
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._shrink = onnxruntime.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._lock = threading.Lock()
        self._batch_size = batch_size
        self.identity = identity
        self.model_path = model_path
        self.dimension = shape.dimension or int(self._session.get_outputs()[0].shape[-1])
        self.max_tokens = shape.max_seq_length - 2  # [CLS] and [SEP]
        self.onnx_path = onnx_path

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of `text`, special tokens excluded (as sentence-transformers counts)."""
        return len(self._counting_tokenizer().encode(text, add_special_tokens=False).ids)

    def _counting_tokenizer(self) -> Tokenizer:
        with self._counter_lock:
            if self._counter is None:
                from tokenizers import Tokenizer

                self._counter = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
                self._counter.no_truncation()
                self._counter.no_padding()
            return self._counter

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Longest first, batched: little padding, and the slowest batch shows in a progress bar first.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        batches = [
            order[start : start + self._batch_size] for start in range(0, len(order), self._batch_size)
        ]
        # A call with a batch larger than answering's hands the memory the session grew into back after
        # its last batch (else a build leaves ~0.5 GB with the process); answering keeps its own.
        shrink = max(len(rows) * len(encodings[rows[0]].ids) for rows in batches) > KEEP_ARENA_TOKENS
        numbered = enumerate(batches, 1)
        if progress:
            from tqdm import tqdm

            numbered = tqdm(numbered, total=len(batches), desc="Batches", unit="batch")
        for number, rows in numbered:
            # The lock is held per batch, so a question asked during a long reindex waits for one
            # batch, not for the whole build.
            with self._lock:
                out[rows] = self._run([encodings[i] for i in rows], shrink=shrink and number == len(batches))
        return out

    def _run(self, encodings: list[Encoding], *, shrink: bool = False) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            feeds["input_ids"][row, :size] = encoding.ids
            feeds["attention_mask"][row, :size] = 1
            feeds["token_type_ids"][row, :size] = encoding.type_ids
        (vectors,) = self._session.run(
            None, {k: v for k, v in feeds.items() if k in self._inputs}, self._shrink if shrink else None
        )
        return vectors
