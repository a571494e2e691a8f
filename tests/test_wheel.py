"""The built wheel carries every model's defaults (``textcls/configs/**.yaml`` as package data).

This builds the wheel only (a few seconds, from a copy of the source, with this environment's setuptools);
installing it into a fresh virtual environment and training from it is ``scripts/check_wheel.sh``, which CI runs
after the tests (it installs torch, which takes minutes).
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_every_config(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "textcls", source / "textcls", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("textcls-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".yaml")}
    expected = {path.relative_to(REPO).as_posix() for path in (REPO / "textcls" / "configs").rglob("*.yaml")}
    assert expected >= {"textcls/configs/bilstm.yaml", "textcls/configs/image/defaults.yaml"}
    assert shipped == expected
