"""The command line as a team runs it: ``python -m pipedsl ...`` in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd`` with this interpreter, output captured; ``env`` adds to the
    environment (colours are always off)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1", **env},
    )


def run_pipedsl(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pipedsl ARGS`` in ``cwd`` (see :func:`run_python`)."""
    return run_python("-m", "pipedsl", *args, cwd=cwd, **env)


def run_main(
    *args: str, cwd: Path, before: str = "", after: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """``pipedsl.cli.main()`` with ``args`` in a fresh ``python -c``, as the console script runs
    it: ``before`` runs first (after ``import gc, sys``), ``after`` once main has exited with
    code 0 (any other code fails the script)."""
    script = (
        "import gc, sys\n"
        f"{before}\n"
        "from pipedsl.cli import main\n"
        f"sys.argv = ['pipedsl', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"{after}\n"
    )
    return run_python("-c", script, cwd=cwd, **env)
