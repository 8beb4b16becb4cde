"""``pipedsl init``: a new team's first project file, its snapshot test and a pre-commit hook,
written into the team's repository all at once or not at all, the project checked by loading
it before anything is written."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import attrs

from pipedsl.errors import PipedslError, ProjectLoadError
from pipedsl.load import PROJECTS_FOLDER, load_project
from pipedsl.record import Record

BACKENDS = ("maven", "gradle", "none")
FRONTENDS = ("npm", "pnpm", "yarn", "none")
DEPLOYS = ("kubectl", "ssh", "none")


def _choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise PipedslError(f"--{what}: {value!r} is not one of {', '.join(allowed)}")
    return value


_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@attrs.frozen(eq=False, repr=False)
class Answers(Record):
    """What ``pipedsl init`` asks; every value is checked when the project file loads."""

    name: str
    repository: str
    backend: str = "maven"
    backend_dir: str = "backend/"
    frontend: str = "none"
    frontend_dir: str = "frontend/"
    registry: str = ""
    deploy: str = "kubectl"
    slack: str | None = None

    def __attrs_post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise PipedslError(
                f"the project name {self.name!r} is not allowed: lower-case letters, digits and "
                "'-' (a DNS label, such as 'shop')"
            )
        _choice("backend", self.backend, BACKENDS)
        _choice("frontend", self.frontend, FRONTENDS)
        _choice("deploy", self.deploy, DEPLOYS)
        if self.backend == "none" and self.frontend == "none":
            raise PipedslError("--backend and --frontend are both 'none': nothing to build")


def default_name(folder: Path) -> str:
    """A project name from a folder name: ``My_Shop`` -> ``my-shop``."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.absolute().name.lower()).strip("-")[:63].strip("-")
    return name or "team"


def origin_url(folder: Path) -> str | None:
    """The ``origin`` remote's URL from ``.git/config`` of ``folder``, if there is one."""
    config = folder / ".git" / "config"
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    section = re.search(r'\[remote "origin"\]([^\[]*)', text)
    found = re.search(r"^\s*url\s*=\s*(\S+)\s*$", section.group(1), re.M) if section else None
    # Never a password or token a remote URL may carry: the project file would hold it.
    return re.sub(r"://([^/@:\s]*):[^/@\s]*@", r"://\1@", found.group(1)) if found else None


def _py(text: str) -> str:
    """``text`` as a Python string literal in double quotes (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def _image(answers: Answers, component: str) -> str:
    """The Python expression of a component's image."""
    if answers.registry.startswith("dockerhub:") or not answers.registry:
        return f"registry.tagged({_py(component + '-{build}')})"
    _, _, namespace = answers.registry.partition("/")
    path = f"{namespace or answers.name}/{component}"
    return f'registry.repository({_py(path)}).tagged("{{build}}")'


def project_source(answers: Answers) -> str:
    """The text of ``projects/<name>.py``."""
    imports = {"Credential", "Project"}
    lines: list[str] = []
    registry = answers.registry or f"dockerhub:{answers.name}/{answers.name}"
    if registry.startswith("dockerhub:"):
        imports.add("DockerHub")
        path = registry.removeprefix("dockerhub:")
        lines += [
            "# Logins, kubeconfigs and tokens are Jenkins credentials, named by their ids.",
            f'registry = DockerHub({_py(path)}, login=Credential.username_password("dockerhub"))',
        ]
    else:
        imports.add("Registry")
        host = registry.partition("/")[0]
        lines += [
            "# Logins, kubeconfigs and tokens are Jenkins credentials, named by their ids.",
            f'registry = Registry({_py(host)}, login=Credential.username_password("registry"))',
        ]
    options: list[str] = []
    if answers.deploy == "kubectl":
        imports.add("Kubectl")
        lines.append('cluster = Kubectl(Credential.secret_file("kubeconfig"))')
        options.append("deploy=cluster")
    elif answers.deploy == "ssh":
        imports.add("SshServer")
        lines.append('cluster = SshServer("deploy")  # a Publish Over SSH server of Jenkins')
        options.append("deploy=cluster")
    if answers.slack:
        imports.add("Slack")
        lines.append(
            f"slack = Slack(channel={_py(answers.slack)}, "
            'token=Credential.secret_text("slack-token"))'
        )
        options.append("notify=slack")
    components: list[str] = []
    if answers.backend != "none":
        imports.add("spring_boot_backend")
        runtime = []
        if answers.deploy != "none":
            imports.add("spring_boot_service")
            runtime = ["    runtime=spring_boot_service(port=8080),"]
        build = [] if answers.backend == "maven" else ['    build="gradle",']
        lines += [
            "",
            "backend = spring_boot_backend(",
            '    "backend",',
            f"    source={_py(answers.backend_dir)},",
            *build,
            f"    image={_image(answers, 'backend')},",
            *(f"    {o}," for o in options),
            *runtime,
            ")",
        ]
        components.append("backend")
    if answers.frontend != "none":
        preset = f"{answers.frontend}_frontend"
        imports.add(preset)
        runtime = []
        if answers.deploy != "none":
            imports.add("nginx_frontend")
            proxy = 'proxy={"/api": backend}' if answers.backend != "none" else ""
            runtime = [f"    runtime=nginx_frontend({proxy}),"]
        lines += [
            "",
            f"frontend = {preset}(",
            '    "frontend",',
            f"    source={_py(answers.frontend_dir)},",
            f"    image={_image(answers, 'frontend')},",
            *(f"    {o}," for o in options),
            *runtime,
            ")",
        ]
        components.append("frontend")
    lines += [
        "",
        "project = Project(",
        f"    {_py(answers.name)},",
        f"    repository={_py(answers.repository)},",
        f"    components=[{', '.join(components)}],",
        ")",
    ]
    header = [
        f'"""The delivery setup of {answers.name}: `pipedsl render` writes its Jenkinsfiles, job',
        "definitions and Kubernetes manifests into generated/ (commit them); `pipedsl sync`",
        'registers the jobs on Jenkins."""',
        "",
        "from pipedsl import (",
        *(f"    {name}," for name in sorted(imports, key=lambda n: (n[0].islower(), n))),
        ")",
        "",
    ]
    return "\n".join(header + lines) + "\n"


def test_source(name: str) -> str:
    """The text of the snapshot test of ``projects/<name>.py``."""
    return (
        f'"""Every file projects/{name}.py renders, against its snapshot: a change shows as a '
        "diff here.\n`pytest --snapshot-update` records the snapshots after an intended change; "
        'commit them."""\n\n\n'
        f"def test_{name.replace('-', '_')}_renders_as_recorded(pipedsl_snapshot):\n"
        f'    pipedsl_snapshot("projects/{name}.py")\n'
    )


PRE_COMMIT = """\
# pipedsl: refuse a commit whose generated/ is not a fresh render of projects/.
repos:
  - repo: local
    hooks:
      - id: pipedsl-render-check
        name: pipedsl render --check
        entry: pipedsl render --check
        language: system
        pass_filenames: false
        files: ^(projects|generated|templates)/
"""


def scaffold(answers: Answers, root: Path) -> list[Path]:
    """Write the project file, its test and (when there is none) ``.pre-commit-config.yaml``
    into the repository ``root``; returns what was written. Nothing is written when a file
    would be replaced or the project does not load (the error names the file)."""
    files = {
        root / PROJECTS_FOLDER / f"{answers.name}.py": project_source(answers),
        root / "tests" / f"test_{answers.name.replace('-', '_')}_generated.py": test_source(
            answers.name
        ),
    }
    hook = root / ".pre-commit-config.yaml"
    if not hook.exists():
        files[hook] = PRE_COMMIT
    taken = [p for p in files if p.exists()]
    if taken:
        raise PipedslError(
            f"{taken[0]} exists; pipedsl init writes only new files (choose another name)"
        )
    # Checked as the team will run it: loaded from a file, before anything is written.
    with tempfile.TemporaryDirectory(prefix="pipedsl-init-") as folder:
        trial = Path(folder) / f"{answers.name}.py"
        trial.write_text(files[root / PROJECTS_FOLDER / f"{answers.name}.py"], encoding="utf-8")
        try:
            load_project(trial)
        except ProjectLoadError as error:
            raise PipedslError(
                f"{PROJECTS_FOLDER}/{answers.name}.py would not load (nothing written): "
                f"{error.detail}"
            ) from None
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as file:
                file.write(text)
            written.append(path)
    except OSError as error:
        for path in written:
            path.unlink(missing_ok=True)
        raise PipedslError(f"cannot write {error.filename}: {error.strerror}") from None
    return written


__all__ = ["Answers", "default_name", "origin_url", "project_source", "scaffold"]
