"""What the benchmark ran on: CPU, cores, memory, library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "onnxruntime",
    "tokenizers",
    "faiss-cpu",
    "numpy",
    "xxhash",
)


def describe_machine() -> dict[str, object]:
    """CPU model, cores, RAM, Python and package versions, load average at the start."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "versions": versions,
        "load_average": os.getloadavg(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
