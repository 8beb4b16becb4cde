"""Render the same workload with several commits of pipedsl, side by side with Jenkins Job
Builder: ``python -m benchmarks.compare 76987b2 HEAD [--n 1000] [--reps 5] [--manifests]``.

Each commit is checked out into its own git worktree (in a temporary folder, removed at the
end) and run from there; a folder given instead of a commit (a copy of a checkout with
uncommitted changes, holding ``src/`` and ``templates/``) is run as it is. The commits and
``jenkins-jobs test`` are run alternately, each run writing into a new folder after a sync of
the file system, so that all of them meet the same machine. Prints the median, minimum and
maximum wall time of each. Each tree's modules are compiled first, as an installation
compiles them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks.__main__ import JJB, PY, ROOT, byte_compile, jjb_conf, measure, render_jenkinsfiles
from benchmarks.workload import write_jjb, write_project


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument(
        "commits", nargs="+", help="git revisions of pipedsl (or folders of a checkout) to compare"
    )
    parser.add_argument("--n", type=int, default=1000, help="components in the workload")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--manifests", action="store_true", help="components with Kubernetes manifests too"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipedsl-compare-") as tmp:
        work = Path(tmp)
        projects = work / "projects"
        write_project(projects, args.n, manifests=args.manifests)
        jjb_yaml = write_jjb(work / "jobs.yaml", render_jenkinsfiles(projects))
        conf = jjb_conf(work, "http://127.0.0.1:1")
        with checkouts(args.commits, work) as trees:
            for tree in trees.values():
                byte_compile(tree / "src")
            times: dict[str, list[float]] = {name: [] for name in [*trees, "jenkins-jobs test"]}
            for rep in range(args.reps):
                for commit, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
                    out = work / "out" / f"tree-{list(trees).index(commit)}-{rep}"
                    cmd = [PY, "-m", "pipedsl", "render", "--projects", str(projects)]
                    times[commit].append(measure([*cmd, "--out", str(out)], env=env)[0])
                out = work / "out" / f"jjb-{rep}"
                jjb = [JJB, "--conf", str(conf), "test", "-o", str(out), str(jjb_yaml)]
                times["jenkins-jobs test"].append(measure(jjb)[0])
        what = "jobs with their manifests" if args.manifests else "jobs"
        print(f"Render of {args.n} {what}, {args.reps} runs each, alternated:\n")
        print("| version | median | min | max |\n|---|---|---|---|")
        for name, values in times.items():
            print(
                f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f} s "
                f"| {max(values):.2f} s |"
            )


@contextlib.contextmanager
def checkouts(commits: list[str], work: Path) -> Iterator[dict[str, Path]]:
    """Each of ``commits`` checked out into a git worktree below ``work`` (removed on leaving),
    or, for a folder holding ``src/pipedsl``, that folder as it is: by the name given."""
    trees: dict[str, Path] = {}
    try:
        for commit in commits:
            if (Path(commit) / "src" / "pipedsl").is_dir():
                trees[commit] = Path(commit).resolve()
                continue
            tree = work / f"tree-{len(trees)}"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                check=True,
                capture_output=True,
            )
            trees[commit] = tree
        yield trees
    finally:
        for tree in trees.values():
            if not tree.is_relative_to(work):
                continue  # a folder given on the command line
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
