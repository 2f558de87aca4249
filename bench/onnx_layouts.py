"""Which way of handing the model to ONNX Runtime lets processes share its weights: each layout written
from the cached export into a temporary folder, then loaded in a fresh process that reports its
private memory after one question (anonymous: no other process can share it; file-backed: pages of
a file it maps, shared with any process mapping the same file) and one question's model latency.

    python -m bench.onnx_layouts [ROUNDS]

The layouts: the export as today; ORT format read into memory; ORT format memory-mapped by ONNX Runtime
with initializers pointing into the mapping (session.use_memory_mapped_ort_model and
session.use_ort_model_bytes_for_initializers), with and without pre-packing; ORT format handed over as
Python bytes (InferenceSession takes `bytes` only, so bytes of a mapped file are a private copy);
optimised ONNX with external initializers, which ONNX Runtime memory-maps, with and without their
pre-packed forms saved beside them (session.save_external_prepacked_constant_initializers: what
index.onnx_backend serves).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.process_memory import REPO
from index.embedding import default_model_path
from index.onnx_backend import ensure_exported
from index.settings import IndexSettings

ORT_MAPPED = {"session.use_memory_mapped_ort_model": "1", "session.use_ort_model_bytes_for_initializers": "1"}
NO_PREPACKING = {"session.disable_prepacking": "1"}
# name: (file written, session config entries, load from Python bytes)
LAYOUTS = {
    "export (today)": ("export", {}, False),
    "ORT format, read": ("model.ort", {}, False),
    "ORT format, mapped": ("model.ort", ORT_MAPPED, False),
    "ORT format, mapped, no pre-packing": ("model.ort", {**ORT_MAPPED, **NO_PREPACKING}, False),
    "ORT format, bytes directly": (
        "model.ort",
        {"session.use_ort_model_bytes_directly": "1", "session.use_ort_model_bytes_for_initializers": "1"},
        True,
    ),
    "external data": ("external/model.onnx", {}, False),
    "external data, no pre-packing": ("external/model.onnx", NO_PREPACKING, False),
    "external data + pre-packed (served)": ("prepacked/model.onnx", {}, False),
}


def write_layouts(export: Path, folder: Path) -> dict[str, Path]:
    """The export in each layout's file under `folder`."""
    import onnxruntime

    def save(destination: Path, **entries: str) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        options = onnxruntime.SessionOptions()
        options.optimized_model_filepath = str(destination)
        options.log_severity_level = 3
        for key, value in entries.items():
            options.add_session_config_entry(key, value)
        onnxruntime.InferenceSession(str(export), options, providers=["CPUExecutionProvider"])

    external = "session.optimized_model_external_initializers_file_name"
    # What onnxruntime.tools.convert_onnx_models_to_ort does: a session saving the graph it optimised
    # (the tool's one exclusion, the NCHWc layout, has nothing to change in a model without convolutions).
    save(folder / "model.ort", **{"session.save_model_format": "ORT"})
    save(folder / "external" / "model.onnx", **{external: "model.onnx.data"})
    save(
        folder / "prepacked" / "model.onnx",
        **{external: "model.onnx.data", "session.save_external_prepacked_constant_initializers": "1"},
    )
    return {
        "export": export,
        **{name: folder / name for name in ("model.ort", "external/model.onnx", "prepacked/model.onnx")},
    }


def child(path: str, entries: dict[str, str], from_bytes: bool, rounds: int) -> None:
    """Load one layout, answer one question's worth of tokens `rounds` times, report memory and time."""
    import mmap

    import onnxruntime

    from bench.process_memory import rollup

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    for key, value in entries.items():
        options.add_session_config_entry(key, value)
    before = rollup()
    if from_bytes:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            model: str | bytes = bytes(mapped)  # InferenceSession refuses the mmap itself
    else:
        model = path
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    ids = np.array([[101, 2129, 2116, 25468, 2106, 12511, 2191, 1999, 4407, 1029, 102]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    vector = session.run(None, feeds)[0]
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        session.run(None, feeds)
        timings.append((time.perf_counter() - started) * 1000)
    after = rollup()
    print(
        json.dumps(
            {
                "anonymous": after["anonymous"] - before["anonymous"],
                "file_backed": (after["uss"] - after["anonymous"]) - (before["uss"] - before["anonymous"]),
                "ms": statistics.median(timings),
                "vector": vector[0].tolist(),
            }
        )
    )


def main(rounds: int) -> None:
    export = ensure_exported(default_model_path(), IndexSettings().model_cache_dir, "fp32")
    with tempfile.TemporaryDirectory() as folder:
        files = write_layouts(export, Path(folder))
        reference: np.ndarray | None = None
        print(f"{'layout':38} {'anonymous MB':>13} {'file-backed MB':>15} {'1 question ms':>14}  vs export")
        for name, (file, entries, from_bytes) in LAYOUTS.items():
            command = [
                sys.executable,
                "-m",
                "bench.onnx_layouts",
                "--child",
                str(files[file]),
                json.dumps(entries),
            ]
            command += ["--rounds", str(rounds), *(["--bytes"] if from_bytes else [])]
            run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{name:38} the process died ({_death(run.returncode)})")
                continue
            result = json.loads(run.stdout)
            vector = np.array(result["vector"])
            reference = vector if reference is None else reference
            print(
                f"{name:38} {result['anonymous']:13.1f} {result['file_backed']:15.1f} {result['ms']:14.2f}  "
                f"{np.abs(vector - reference).max():.1g}"
            )


def _death(code: int) -> str:
    return signal.Signals(-code).name if code < 0 else f"exit code {code}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=200)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "ENTRIES"), help=argparse.SUPPRESS)
    parser.add_argument("--bytes", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, dest="child_rounds", default=200, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], json.loads(arguments.child[1]), arguments.bytes, arguments.child_rounds)
    else:
        main(arguments.rounds)
