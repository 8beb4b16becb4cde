"""pipedsl as users install it: a built wheel, run outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_templates_and_renders_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("pipedsl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pipedsl/templates/jenkinsfile/Jenkinsfile.groovy.j2" in names
    assert "pipedsl/py.typed" in names

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "projects", work / "projects")
    # The wheel comes first on the path, ahead of the editable install of the checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import pipedsl; print(pipedsl.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site))
    done = subprocess.run(
        [sys.executable, "-m", "pipedsl", "render"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rendered = {
        p.relative_to(work / "generated").as_posix(): p.read_bytes()
        for p in (work / "generated").rglob("*")
        if p.is_file()
    }
    committed = {
        p.relative_to(ROOT / "generated").as_posix(): p.read_bytes()
        for p in (ROOT / "generated").rglob("*")
        if p.is_file()
    }
    assert rendered == committed
