"""Count the machine instructions pipedsl runs, with several commits side by side:
``python -m benchmarks.instructions 85531b4 HEAD [--n 100] [--manifests]``.

Wall time on a shared or virtual machine moves by 10-20 % between identical runs, more than
most single changes save. The number of instructions a process executes does not: valgrind's
``cachegrind`` counts them (the same run twice differs by a few in a million). Each commit is
measured in three steps in one process, so that each part is the difference of two counts:
importing pipedsl, loading the workload project, rendering it (no files are written). The
workload stays below ``parallel.MIN_ITEMS`` components, so the render runs in one process.

Bytecode is compiled beforehand (into a folder of its own per commit), hash randomisation is
fixed, and nothing else is measured. Needs ``valgrind`` on PATH. Instructions are not time
(a cache miss costs more than an addition), but on one interpreter a change that removes
instructions from the same work makes it faster: use this to decide, and wall time
(:mod:`benchmarks.compare`) to report.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchmarks.__main__ import PY
from benchmarks.compare import checkouts
from benchmarks.workload import write_project
from pipedsl.render.parallel import MIN_ITEMS

# Imports, then (with a project folder) loads, then (with "render") renders, in one process.
_STEP = r"""
import sys
from pathlib import Path
from pipedsl.load import load_projects
from pipedsl.render import render_projects
if len(sys.argv) > 1:
    projects = load_projects(Path(sys.argv[1]))
    if len(sys.argv) > 2:
        render_projects(projects)
"""

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(tree: Path, args: list[str], cache: Path) -> int:
    """Instructions of one run of the step script with ``args``, pipedsl taken from ``tree``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "PYTHONHASHSEED": "0",
        "PYTHONPYCACHEPREFIX": str(cache),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-c", _STEP, *args], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            PY,
            "-c",
            _STEP,
            *args,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = _REFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "commits", nargs="+", help="git revisions of pipedsl (or folders of a checkout) to compare"
    )
    parser.add_argument("--n", type=int, default=100, help="components in the workload")
    parser.add_argument(
        "--manifests", action="store_true", help="components with Kubernetes manifests too"
    )
    args = parser.parse_args()
    if not 1 <= args.n < MIN_ITEMS:
        parser.error(
            f"--n must be 1 to {MIN_ITEMS - 1}: a larger project renders in several processes"
        )
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="pipedsl-instructions-") as tmp:
        work = Path(tmp)
        projects = work / "projects"
        write_project(projects, args.n, manifests=args.manifests)
        with checkouts(args.commits, work) as trees:
            rows: list[tuple[str, int, int, int]] = []
            for name, tree in trees.items():
                cache = work / f"bytecode-{len(rows)}"
                imports = count(tree, [], cache)
                loaded = count(tree, [str(projects)], cache)
                rendered = count(tree, [str(projects), "render"], cache)
                rows.append((name, imports, loaded - imports, rendered - loaded))
    what = "components with manifests" if args.manifests else "components"
    print(f"Instructions (millions), {args.n} {what}, one process:\n")
    print("| version | import | load | render | render per component |\n|---|---|---|---|---|")
    for name, imports, load, render in rows:
        print(
            f"| {name} | {imports / 1e6:,.0f} | {load / 1e6:,.0f} | {render / 1e6:,.0f} "
            f"| {render / args.n / 1e6:,.2f} |"
        )


if __name__ == "__main__":
    main()
