"""Run the benchmark suite and print its tables: ``python -m benchmarks [--quick]``.

Benchmarks, not tests: they measure and print, and never fail on a figure.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.fake_jenkins import FakeJenkins

from benchmarks.workload import write_jjb, write_project
from pipedsl import load_projects, render_projects

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
JJB = str(Path(PY).with_name("jenkins-jobs"))
PIPEDSL = [PY, "-m", "pipedsl"]
TOKEN = "bench-token"  # noqa: S105  (the test server's token)

# Runs a command and prints its wall time and the peak RSS of its process tree, so that every
# tool is measured the same way, from outside.
_MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{code} {wall} {peak}")
"""


def byte_compile(src: Path) -> None:
    """Compile the modules under ``src`` as an installation does (pip compiles what it installs;
    so it did for Jenkins Job Builder here), so that no measured run pays for compiling them:
    with ``PYTHONDONTWRITEBYTECODE`` set, a checkout would otherwise compile pipedsl on every
    run."""
    if not compileall.compile_dir(str(src), quiet=1):
        raise SystemExit(f"cannot compile the modules under {src}")


def measure(
    cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """(seconds, peak KiB) of one run of ``cmd``; fails loudly if the command fails.

    The file system is synced first, so that no run pays for writing back what an earlier
    one wrote."""
    os.sync()
    out = subprocess.run(
        [PY, "-c", _MEASURE, *cmd], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    code, wall, peak = out.stdout.split()
    if code != "0":
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{out.stderr}")
    return float(wall), int(peak)


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def render_jenkinsfiles(projects: Path) -> dict[str, str]:
    return {
        a.path.split("/")[1]: a.text
        for a in render_projects(load_projects(projects))
        if a.kind == "jenkinsfile"
    }


def bench_render(
    sizes: list[int], reps: int, work: Path, *, manifests: bool, storage: tuple[str, Path]
) -> tuple[str, dict[int, tuple[float, float, int, int]]]:
    """Both tools render N jobs into fresh folders under ``storage`` (a name, a folder)."""
    rows = []
    results: dict[int, tuple[float, float, int, int]] = {}
    where, root = storage
    for n in sizes:
        variant = f"render-{n}{'-manifests' if manifests else ''}"
        case = work / variant
        if not (case / "jobs.yaml").exists():
            write_project(case / "projects", n, manifests=manifests)
            write_jjb(case / "jobs.yaml", render_jenkinsfiles(case / "projects"))
        projects, jjb_yaml = case / "projects", case / "jobs.yaml"
        ours: list[tuple[float, int]] = []
        theirs: list[tuple[float, int]] = []
        outputs = root / variant / "outputs"
        for rep in range(reps):  # alternate the two tools so that machine noise hits both alike
            # Each run writes into a new folder, and none is deleted until the suite ends: on
            # this machine's disk, deleting thousands of files slows the writes of the next
            # seconds, whichever tool makes them.
            ours.append(
                measure(
                    [
                        *PIPEDSL,
                        "render",
                        "--projects",
                        str(projects),
                        "--out",
                        str(outputs / f"pipedsl-{rep}"),
                    ]
                )
            )
            theirs.append(
                measure(
                    [
                        JJB,
                        "--conf",
                        str(jjb_conf(case, "http://127.0.0.1:1")),
                        "test",
                        "-o",
                        str(outputs / f"jjb-{rep}"),
                        str(jjb_yaml),
                    ]
                )
            )
        t_ours, t_jjb = median([t for t, _ in ours]), median([t for t, _ in theirs])
        m_ours, m_jjb = max(m for _, m in ours), max(m for _, m in theirs)
        results[n] = (t_ours, t_jjb, m_ours, m_jjb)
        rows.append(
            [
                str(n),
                f"{t_ours:.2f}",
                f"{t_jjb:.2f}",
                f"{t_jjb / t_ours:.1f}x",
                f"{m_ours / 1024:.0f}",
                f"{m_jjb / 1024:.0f}",
            ]
        )
    what = (
        "Jenkinsfile, inline config.xml and 3 manifests each"
        if manifests
        else "Jenkinsfile + inline config.xml each"
    )
    text = table(
        f"Render: N jobs ({what}), output {where}, median of {reps}",
        [
            "N",
            "pipedsl render s",
            "jenkins-jobs test s",
            "speed-up",
            "pipedsl peak MiB",
            "JJB peak MiB",
        ],
        rows,
    )
    return text, results


def jjb_conf(case: Path, url: str) -> Path:
    conf = case / "jjb.ini"
    conf.write_text(
        f"[job_builder]\nignore_cache=False\n\n[jenkins]\nurl={url}\nuser=admin\npassword={TOKEN}\nquery_plugins_info=False\n",
        encoding="utf-8",
    )
    return conf


def _sync_cmd(projects: Path, url: str) -> list[str]:
    return [
        *PIPEDSL,
        "sync",
        "--projects",
        str(projects),
        "--url",
        url,
        "--user",
        "admin",
        "--token",
        TOKEN,
    ]


def bench_sync(sizes: list[int], work: Path) -> str:
    rows = []
    for n in sizes:
        case = work / f"sync-{n}"
        # Both variants live in folders named "projects", as the generated headers name it.
        base = case / "base" / "projects"
        one_percent = case / "changed" / "projects"
        write_project(base, n)
        write_project(one_percent, n, changed=max(1, n // 100))
        jjb_base = write_jjb(case / "base.yaml", render_jenkinsfiles(base))
        jjb_changed = write_jjb(case / "changed.yaml", render_jenkinsfiles(one_percent))
        env = {**os.environ, "XDG_CACHE_HOME": str(case / "cache"), "HOME": str(case)}

        def run(
            server: FakeJenkins, cmd: list[str], env: dict[str, str] = env
        ) -> tuple[float, int]:
            before = server.request_count
            seconds, _ = measure(cmd, env=env)
            return seconds, server.request_count - before

        for tool in ("pipedsl", "jjb", "jjb (no cache)"):
            with FakeJenkins(users={"admin": TOKEN}) as server:
                if tool == "pipedsl":
                    commands = [
                        _sync_cmd(base, server.url),
                        _sync_cmd(base, server.url),
                        _sync_cmd(one_percent, server.url),
                    ]
                else:
                    server.put_folder("bench")  # JJB does not create folders for its jobs
                    conf = jjb_conf(case, server.url)
                    flush = ["--flush-cache"] if tool == "jjb (no cache)" else []
                    shutil.rmtree(case / "cache", ignore_errors=True)
                    update = [JJB, "--conf", str(conf), *flush, "update"]
                    commands = [
                        [*update, str(jjb_base)],
                        [*update, str(jjb_base)],
                        [*update, str(jjb_changed)],
                    ]
                figures = [run(server, command) for command in commands]
            rows.append([str(n), tool] + [f"{s:.2f} s / {r}" for s, r in figures])
    return table(
        "Sync against the Jenkins test server: wall time / HTTP requests",
        ["N", "tool", "(a) empty Jenkins", "(b) nothing changed", "(c) 1 % changed"],
        rows,
    )


def bench_startup(reps: int) -> str:
    helps = [measure([*PIPEDSL, "--help"])[0] for _ in range(reps)]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "projects", Path(tmp, "projects"))
        renders = [
            measure([*PIPEDSL, "render", "--out", f"generated-{rep}"], cwd=Path(tmp))[0]
            for rep in range(reps)
        ]
    return table(
        f"Start-up, median of {reps}",
        ["command", "seconds"],
        [
            ["pipedsl --help", f"{median(helps):.3f}"],
            ["pipedsl render (seed project, end to end)", f"{median(renders):.3f}"],
        ],
    )


def scaling(results: dict[int, tuple[float, float, int, int]], what: str) -> str:
    sizes = sorted(results)
    rows = []
    for n in sizes:
        t, _, m, _ = results[n]
        rows.append([str(n), f"{t:.2f}", f"{1000 * t / n:.2f}", f"{m / 1024:.0f}"])
    return table(
        f"Scaling of pipedsl render ({what})", ["N", "seconds", "ms per job", "peak MiB"], rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="N = 10 and 100 only, 1 repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw render figures here")
    args = parser.parse_args()
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    reps = 1 if args.quick else args.reps
    started = time.perf_counter()
    byte_compile(ROOT / "src")
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipedsl-bench-")))
        disk = ("on disk", work)
        # RAM-backed storage measures the tools' own work; the disk of a virtual machine adds
        # a cost of creating files that varies from minute to minute (see docs/benchmarks.md).
        shm = Path("/dev/shm")  # noqa: S108  (a private folder is made in it with mkdtemp)
        ram = (
            ("in RAM (tmpfs)", Path(stack.enter_context(tempfile.TemporaryDirectory(dir=shm))))
            if shm.is_dir() and os.access(shm, os.W_OK)
            else disk
        )
        print(bench_startup(max(reps, 5)))
        render_text, results = bench_render(sizes, reps, work, manifests=False, storage=ram)
        print(render_text)
        print(scaling(results, "jobs"))
        disk_text, on_disk = bench_render(sizes, reps, work, manifests=False, storage=disk)
        if ram is not disk:
            print(disk_text)
        manifests_text, with_manifests = bench_render(
            sizes, reps, work, manifests=True, storage=ram
        )
        print(manifests_text)
        print(scaling(with_manifests, "jobs and manifests"))
        print(bench_sync(sizes, work))
    if args.json:
        figures = {
            "render": {str(k): v for k, v in results.items()},
            "render_on_disk": {str(k): v for k, v in on_disk.items()},
            "render_with_manifests": {str(k): v for k, v in with_manifests.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"(suite took {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
