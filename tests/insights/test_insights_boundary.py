"""insights/ records and reports for the bot but never imports discord or the bot layer (the bot
passes it plain values), index/ never imports insights, and database/ (which both use) imports
neither."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO
from tests.index.test_import_boundary import imported_names

MODULES = sorted((REPO / "insights").rglob("*.py"))


def test_no_module_under_insights_imports_discord_or_bot():
    assert len(MODULES) >= 6
    for path in MODULES:
        roots = {name.split(".")[0] for name in imported_names(path.read_text(encoding="utf-8"))}
        assert not roots & {"discord", "bot"}, f"{path.name} imports {roots & {'discord', 'bot'}}"


def test_index_never_imports_insights():
    for path in sorted((REPO / "index").glob("*.py")):
        roots = {name.split(".")[0] for name in imported_names(path.read_text(encoding="utf-8"))}
        assert "insights" not in roots, path.name


def test_importing_the_recorder_loads_no_discord():
    program = (
        "import sys, insights.recording, insights.retention\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('discord', 'bot')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )

    assert result.stdout.strip() == "[]"


def test_database_imports_no_feature_but_in_the_migrations_entry_point():
    entry_point = REPO / "database" / "migrations" / "env.py"
    modules = sorted((REPO / "database").rglob("*.py"))
    assert entry_point in modules
    for path in modules:
        if path == entry_point:  # it hands Alembic every feature's tables
            continue
        roots = {name.split(".")[0] for name in imported_names(path.read_text(encoding="utf-8"))}
        assert not roots & {"index", "insights", "bot", "discord"}, path.name
