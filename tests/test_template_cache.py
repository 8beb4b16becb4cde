"""The cache of compiled templates: reused when source and settings are the same, compiled again
when either changed or a cache file is damaged, and never a reason for a render to fail."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from pipedsl import load_project, render_project
from pipedsl.render import templating
from pipedsl.render.templating import (
    ENV_CACHE_DIR,
    ENV_NO_CACHE,
    _TemplateCache,
    build_groovy_environment,
    template_cache,
)
from tests.conftest import SEED_PROJECT, seed_projects
from tests.support.cli import run_pipedsl

NAMES = [
    "jenkinsfile/Jenkinsfile.groovy.j2",
    "jenkinsfile/stages.groovy.j2",
    "jenkinsfile/steps/sh.groovy.j2",
]


def _environment(cache: Path, *dirs: Path) -> jinja2.Environment:
    return build_groovy_environment(tuple(dirs), {ENV_CACHE_DIR: str(cache)})


def _refuse_compiling(monkeypatch: pytest.MonkeyPatch, env: jinja2.Environment) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled although the cache holds the template")

    monkeypatch.setattr(env, "compile", refuse)


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("templates-*/*.cache"))


def test_a_second_environment_loads_compiled_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _environment(tmp_path)
    compiled = [first.get_template(name) for name in NAMES]
    assert len(_cache_files(tmp_path)) == len(NAMES)
    second = _environment(tmp_path)
    _refuse_compiling(monkeypatch, second)
    for name, template in zip(NAMES, compiled, strict=True):
        assert (
            second.get_template(name).root_render_func.__code__.co_code
            == template.root_render_func.__code__.co_code
        )


@pytest.fixture
def fresh_environments() -> Iterator[None]:
    """``groovy_environment`` made again from the environment variables, in and after the test."""
    templating.groovy_environment.cache_clear()
    yield
    templating.groovy_environment.cache_clear()


@pytest.mark.usefixtures("fresh_environments")
def test_the_render_is_the_same_with_and_without_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(SEED_PROJECT)
    monkeypatch.setenv(ENV_NO_CACHE, "1")
    uncached = {a.path: a.text for a in render_project(project)}
    assert templating.groovy_environment().bytecode_cache is None
    monkeypatch.delenv(ENV_NO_CACHE)
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path))
    for _ in range(2):  # the first render fills the cache, the second reads it
        templating.groovy_environment.cache_clear()
        assert templating.groovy_environment().bytecode_cache is not None
        assert {a.path: a.text for a in render_project(project)} == uncached
    assert _cache_files(tmp_path)


def test_changed_source_is_compiled_again(tmp_path: Path) -> None:
    steps = tmp_path / "templates" / "jenkinsfile" / "steps"
    steps.mkdir(parents=True)
    template = steps / "custom.groovy.j2"
    template.write_text("first\n")
    cache = tmp_path / "cache"
    name = "jenkinsfile/steps/custom.groovy.j2"
    assert _environment(cache, tmp_path / "templates").get_template(name).render() == "first\n"
    template.write_text("second\n")
    assert _environment(cache, tmp_path / "templates").get_template(name).render() == "second\n"


def test_other_compile_settings_use_another_folder(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    other = _environment(tmp_path)
    other.trim_blocks = False
    assert isinstance(env.bytecode_cache, _TemplateCache)
    assert isinstance(
        other_cache := template_cache(other, {ENV_CACHE_DIR: str(tmp_path)}),
        _TemplateCache,
    )
    assert env.bytecode_cache.path != other_cache.path
    same = template_cache(_environment(tmp_path), {ENV_CACHE_DIR: str(tmp_path)})
    assert isinstance(same, _TemplateCache)
    assert same.path == env.bytecode_cache.path


@pytest.mark.parametrize("damage", [b"", b"garbage", b"\x00" * 64], ids=["empty", "text", "nul"])
def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path, damage: bytes) -> None:
    env = _environment(tmp_path)
    expected = env.get_template("jenkinsfile/steps/sh.groovy.j2").root_render_func.__code__.co_code
    (file,) = _cache_files(tmp_path)
    file.write_bytes(damage)
    again = _environment(tmp_path).get_template("jenkinsfile/steps/sh.groovy.j2")
    assert again.root_render_func.__code__.co_code == expected
    assert file.read_bytes() != damage  # written afresh


def test_a_cache_that_cannot_be_written_does_not_fail(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    assert isinstance(env.bytecode_cache, _TemplateCache)
    Path(env.bytecode_cache.path).rmdir()  # gone after the environment was made
    assert env.get_template("jenkinsfile/steps/sh.groovy.j2") is not None
    assert not _cache_files(tmp_path)


def test_a_cache_file_that_cannot_be_read_is_compiled_again(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    env.get_template("jenkinsfile/steps/sh.groovy.j2")
    (file,) = _cache_files(tmp_path)
    file.unlink()
    file.symlink_to(file)  # opening it fails with ELOOP, an OSError jinja2 does not expect
    assert _environment(tmp_path).get_template("jenkinsfile/steps/sh.groovy.j2") is not None


def test_where_the_cache_goes(tmp_path: Path) -> None:
    env = _environment(tmp_path)

    def folder(environ: dict[str, str]) -> str | None:
        cache = template_cache(env, environ)
        return str(cache.path) if isinstance(cache, _TemplateCache) else None

    mine = folder({ENV_CACHE_DIR: str(tmp_path / "mine"), "XDG_CACHE_HOME": str(tmp_path)})
    assert mine is not None
    assert Path(mine).parent == tmp_path / "mine"
    xdg = folder({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert xdg is not None
    assert Path(xdg).parent == tmp_path / "xdg" / "pipedsl"
    assert folder({ENV_NO_CACHE: "1", ENV_CACHE_DIR: str(tmp_path)}) is None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path / "home"))
        assert folder({}) is None  # a home folder that is not there is not made
        assert not (tmp_path / "home").exists()
        (tmp_path / "home").mkdir()
        home = folder({})
        assert home is not None
        assert Path(home).parent == tmp_path / "home" / ".cache" / "pipedsl"
    (tmp_path / "a-file").write_text("")
    assert folder({ENV_CACHE_DIR: str(tmp_path / "a-file")}) is None


def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path) -> None:
    env = _environment(tmp_path / "first")
    assert isinstance(env.bytecode_cache, _TemplateCache)
    shared = Path(env.bytecode_cache.path)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    shared.chmod(0o777)
    assert template_cache(env, {ENV_CACHE_DIR: str(tmp_path / "first")}) is None
    link = tmp_path / "second"
    link.mkdir()
    (link / shared.name).symlink_to(shared)
    shared.chmod(0o700)
    assert template_cache(env, {ENV_CACHE_DIR: str(link)}) is None  # not a real folder


def test_the_command_fills_and_reuses_the_cache(tmp_path: Path) -> None:
    seed_projects(tmp_path / "projects")
    cache = tmp_path / "cache"
    first = run_pipedsl("render", cwd=tmp_path, PIPEDSL_CACHE_DIR=str(cache))
    assert first.returncode == 0, first.stderr
    files = _cache_files(cache)
    assert files
    stamps = {f: f.stat().st_mtime_ns for f in files}
    again = run_pipedsl("render", "--check", cwd=tmp_path, PIPEDSL_CACHE_DIR=str(cache))
    assert again.returncode == 0, again.stderr
    assert {f: f.stat().st_mtime_ns for f in _cache_files(cache)} == stamps  # read, not rewritten


SH = "jenkinsfile/steps/sh.groovy.j2"


def _plant(env: jinja2.Environment, cache: _TemplateCache, code: object) -> None:
    """Write ``code`` as the cached compilation of the ``sh`` step template, with a valid
    header and the checksum of the template's real source."""
    assert env.loader is not None
    source, filename, _ = env.loader.get_source(env, SH)
    bucket = cache.get_bucket(env, SH, filename, source)
    bucket.code = code  # type: ignore[assignment]
    cache.set_bucket(bucket)


@pytest.mark.parametrize("cut", [0, 1, 8, 15, 20, 40, 60, 88, 120, -1])
def test_a_cut_cache_file_is_compiled_again(tmp_path: Path, cut: int) -> None:
    expected = _environment(tmp_path).get_template(SH).root_render_func.__code__.co_code
    (file,) = _cache_files(tmp_path)
    whole = file.read_bytes()
    file.write_bytes(whole[:cut] + (b"\x00garbage" if cut < 0 else b""))
    again = _environment(tmp_path).get_template(SH)
    assert again.root_render_func.__code__.co_code == expected


def test_a_cache_file_without_a_compiled_template_is_compiled_again(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    expected = env.get_template(SH).root_render_func.__code__.co_code
    assert isinstance(env.bytecode_cache, _TemplateCache)
    for code in (5, compile("x = 1", "<other>", "exec")):
        _plant(env, env.bytecode_cache, code)
        again = _environment(tmp_path).get_template(SH)
        assert again.root_render_func.__code__.co_code == expected


def test_a_folder_swapped_in_after_the_check_is_never_read(tmp_path: Path) -> None:
    # Whoever may rename folders above the cache cannot put their files in its place: the
    # folder checked is the one read, through the descriptor opened for the check.
    root = tmp_path / "root"
    env = _environment(root)
    assert isinstance(env.bytecode_cache, _TemplateCache)
    checked = env.bytecode_cache.path
    marker = tmp_path / "planted code ran"
    planted = compile(
        f"open({str(marker)!r}, 'w').close()\nroot = blocks = debug_info = None",
        "<planted>",
        "exec",
    )
    other = _environment(tmp_path / "other")
    assert isinstance(other.bytecode_cache, _TemplateCache)
    _plant(other, other.bytecode_cache, planted)
    checked.rename(tmp_path / "moved away")
    other.bytecode_cache.path.rename(checked)
    assert env.get_template(SH) is not None
    assert not marker.exists()


def test_a_changed_filter_uses_another_folder(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    other = _environment(tmp_path)

    @jinja2.pass_environment
    def comment(environment: jinja2.Environment, text: str) -> str:
        return text

    other.filters["comment"] = comment
    mine, theirs = (
        template_cache(env, {ENV_CACHE_DIR: str(tmp_path)}),
        template_cache(other, {ENV_CACHE_DIR: str(tmp_path)}),
    )
    assert mine is not None
    assert theirs is not None
    assert mine.path != theirs.path
