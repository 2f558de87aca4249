"""The token's home: `.env` is git-ignored and never tracked, and the README tells an operator
where to read how to rotate a leaked token. (That the token never reaches logs, tracebacks or
replies: tests/e2e/test_token_secrecy.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)


def in_a_git_checkout() -> bool:
    return (
        shutil.which("git") is not None and git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    )


def ignored_by_gitignore(name: str) -> bool:
    """Without git: whether the top-level .gitignore lists `name` (it has no negations)."""
    patterns = {line.strip().lstrip("/") for line in (REPO / ".gitignore").read_text().splitlines()}
    return name in patterns


@pytest.mark.parametrize(("name", "ignored"), [(".env", True), (".env.example", False)])
def test_dot_env_is_git_ignored_and_its_example_is_not(name: str, ignored: bool) -> None:
    if in_a_git_checkout():
        assert (git("check-ignore", "--quiet", "--no-index", name).returncode == 0) is ignored
    else:
        assert ignored_by_gitignore(name) is ignored


def test_no_dot_env_is_tracked() -> None:
    if not in_a_git_checkout():
        pytest.skip("not a git checkout")
    tracked = git("ls-files", "--", ".env", "**/.env").stdout.split()
    assert tracked == []


def anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_links_to_how_to_rotate_a_leaked_token() -> None:
    readme = (REPO / "README.md").read_text()
    setup = (REPO / "docs" / "discord-setup.md").read_text()

    [security] = [part for part in readme.split("\n\n") if part.startswith("**Security:**")]
    [(target, fragment)] = re.findall(r"\]\((docs/discord-setup\.md)#([\w-]+)\)", security)
    sections = {anchor(part.split("\n", 1)[0]): part for part in re.split(r"^## ", setup, flags=re.M)[1:]}
    assert fragment in sections, f"{target} has no heading for #{fragment}"
    assert "Reset Token" in sections[fragment]
    assert ".env" in sections[fragment]
