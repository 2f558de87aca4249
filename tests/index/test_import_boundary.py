"""index/ is the retrieval core: it never imports discord (or the bot layer above it)."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = ("discord", "bot")
MODULES = sorted(path for path in (REPO / "index").glob("*.py"))


def imported_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_check_sees_imports_anywhere_in_a_module():
    source = "import os\ndef f():\n    from discord.ext import commands\n    import bot.cogs\n"

    assert imported_names(source) == {"os", "discord.ext", "bot.cogs"}


def test_no_module_under_index_imports_discord_or_bot():
    assert len(MODULES) > 10
    for path in MODULES:
        roots = {name.split(".")[0] for name in imported_names(path.read_text(encoding="utf-8"))}
        assert not roots & set(FORBIDDEN), f"{path.name} imports {roots & set(FORBIDDEN)}"


def test_importing_every_index_module_loads_no_discord():
    names = [f"index.{path.stem}" for path in MODULES if path.stem != "__init__"]
    program = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )

    assert result.stdout.strip() == "[]"
