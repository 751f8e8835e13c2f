"""What a new user following the README hit (fourth round: checks, labels, report, canaries)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from judge.cli import main
from tests.conftest import REPO


def _support_copy(tmp_path: Path, old: str, new: str) -> Path:
    """examples/support copied with one edit to its reward.toml."""
    folder = tmp_path / "support"
    shutil.copytree(REPO / "examples" / "support", folder)
    config = folder / "reward.toml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    return config


def test_lint_and_package_name_a_missing_python_check_module_without_a_traceback(
    tmp_path: Path,
) -> None:
    config = _support_copy(tmp_path, "checks.support:sms_plain", "checks.nosuch:sms_plain")
    lint = CliRunner().invoke(main, ["lint", "--config", str(config)])
    assert lint.exit_code == 1 and isinstance(lint.exception, SystemExit)
    assert "checks/nosuch.py" in lint.output and "Traceback" not in lint.output
    out = tmp_path / "j.zip"
    package = CliRunner().invoke(main, ["package", "--config", str(config), "--out", str(out)])
    assert isinstance(package.exception, SystemExit) and package.exit_code != 0
    assert "checks/nosuch.py" in package.output and not out.exists()
