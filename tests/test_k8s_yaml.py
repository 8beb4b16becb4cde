"""The YAML boundary: ``yaml_document`` output reads back as exactly the data it was given, and
no string is left as a plain scalar that some YAML reader would take for a boolean, number or
null (PyYAML reads YAML 1.1; kubectl's Go reader also takes ``y``/``n`` and ``1e3``)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedsl import ConfigMap, load_project
from pipedsl.model.k8s.config import looks_secret
from pipedsl.render import escape
from pipedsl.render.escape import yaml_document
from pipedsl.render.manifests import manifest
from pipedsl.resolve.layout import rendered_objects
from tests.conftest import ROOT

TRICKY = [
    "yes", "no", "on", "off", "y", "n", "Y", "N", "true", "False", "NULL", "null", "~", "",
    "0123", "0o17", "0x1f", "1e3", "1E3", "-1", "+1", ".5", "1_000", "12:30", ".inf", "-.Inf",
    ".nan", "=", "<<", "- item", "key: value", "#comment", "&anchor", "*alias", "!tag", "%x",
    "@x", "`x", "|", ">", "'", '"', " leading", "trailing ", "a\nb", "\n", "line\n\n",
    "tab\there", "cr\r\nlf", "nel\x85", "ls\u2028ps\u2029", "bom\ufeff", "주문 ✓", "emoji 🚀",
]  # fmt: skip

# What a YAML 1.1 or 1.2 reader (PyYAML, Go's yaml.v2/v3) would read as something other than a
# string if it were written plain.
_NOT_A_STRING = re.compile(
    r"""(?ix)
    (y|n|yes|no|on|off|true|false|null|~|)
    | [-+]?(0|[1-9][0-9_]*|0[0-7_]+|0o[0-7_]+|0x[0-9a-f_]+|0b[01_]+)
    | [-+]?(?=\.?[0-9])([0-9][0-9_]*)?\.?[0-9_]*([e][-+]?[0-9]+)?
    | [-+]?\.(inf|nan)
    | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?
    | = | <<
    """
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
# The model refuses NUL in ConfigMap values (no manifest reader could carry it on).
setting = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
values = st.recursive(
    st.one_of(
        text,
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)
    ),
    max_leaves=20,
)


def _plain_scalars(document: str) -> list[str]:
    return [
        event.value
        for event in yaml.parse(document)
        if isinstance(event, yaml.ScalarEvent) and event.style is None
    ]


@given(st.dictionaries(text, values, max_size=6))
@settings(max_examples=300, deadline=None)
def test_yaml_reads_back_exactly(data: dict[str, Any]) -> None:
    assert yaml.safe_load(yaml_document(data)) == data


@given(st.dictionaries(text, setting, max_size=6))
@settings(max_examples=300, deadline=None)
def test_config_map_data_reads_back_as_the_same_strings(data: dict[str, str]) -> None:
    safe_keys = {re.sub(r"[^-._a-zA-Z0-9]", "x", k) or "k": v for k, v in data.items()}
    settings_ = {k: v for k, v in safe_keys.items() if not looks_secret(k)}
    document = yaml_document(manifest(ConfigMap("settings", settings_)))
    assert yaml.safe_load(document)["data"] == settings_


def test_tricky_strings_stay_strings_for_every_reader() -> None:
    data = {value: value for value in TRICKY}
    document = yaml_document({"data": data, "list": TRICKY})
    assert yaml.safe_load(document) == {"data": data, "list": TRICKY}
    for scalar in _plain_scalars(document):
        assert not _NOT_A_STRING.fullmatch(scalar), scalar


@given(st.lists(text, max_size=8))
@settings(max_examples=300, deadline=None)
def test_no_plain_scalar_looks_like_another_type(strings: list[str]) -> None:
    document = yaml_document({"values": strings})
    for scalar in _plain_scalars(document):
        if scalar != "values":
            assert not _NOT_A_STRING.fullmatch(scalar), scalar


def test_types_and_layout() -> None:
    document = yaml_document({"a": 1, "b": True, "c": None, "d": ["x"], "e": "two\nlines\n"})
    assert document == "a: 1\nb: true\nc: null\nd:\n- x\ne: |\n  two\n  lines\n"


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z][A-Z_]{0,10}", fullmatch=True).filter(lambda k: not looks_secret(k)),
        st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)),
        max_size=6,
    )
)
@settings(max_examples=200, deadline=None)
def test_config_map_numbers_and_booleans_are_written_as_strings(
    data: dict[str, int | float | bool],
) -> None:
    document = yaml_document(manifest(ConfigMap("settings", data)))
    expected = {
        k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in data.items()
    }
    assert yaml.safe_load(document)["data"] == expected


# -- libyaml and the Python emitter write the same text ------------------------------------

# Everything from plain identifiers to what libyaml judges differently: astral characters,
# surrogates, control characters, long and empty keys, keys with line breaks, non-ASCII keys
# near the 128-byte simple-key limit.
_any_char = st.characters(codec=None)
_wide = st.one_of(
    st.text(_any_char, max_size=40),
    st.lists(st.sampled_from([*"aé주🚀\n :-#'\"\x85\u2028", "yes", "0"]), max_size=200).map(
        "".join
    ),
)
_wide_values = st.recursive(
    st.one_of(
        _wide,
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_wide, children, max_size=4)
    ),
    max_leaves=20,
)


class _Reference(yaml.SafeDumper):
    """PyYAML's own representer and Python emitter, with pipedsl's string styles: what
    yaml_document must write, whichever emitter it takes."""

    def ignore_aliases(self, data: object) -> bool:
        return True


_Reference.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style=escape.yaml_scalar_style(value)
    ),
)


def _reference(data: dict[str, Any]) -> str:
    return yaml.dump(
        data,
        Dumper=_Reference,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
    )


_needs_libyaml = pytest.mark.skipif(escape._CDumper is None, reason="PyYAML without libyaml")


# PIPEDSL_YAML_EXAMPLES=30000 for a deeper search (about 7 minutes).
@settings(max_examples=int(os.environ.get("PIPEDSL_YAML_EXAMPLES", "400")))
@given(st.dictionaries(_wide, _wide_values, max_size=6))
def test_both_emitters_write_what_pyyaml_dump_writes(data: dict[str, Any]) -> None:
    expected = _reference(data)
    assert yaml_document(data) == expected
    assert yaml_document(data, dumper=escape._PyDumper) == expected
    if escape.yaml_emitter(data) is escape._CDumper:
        assert yaml_document(data, dumper=escape._CDumper) == expected


class _Recorder(yaml.serializer.Serializer, yaml.resolver.Resolver):
    """PyYAML's own serializer, keeping the events it would hand an emitter."""

    def __init__(self) -> None:
        yaml.serializer.Serializer.__init__(self, explicit_start=False)
        yaml.resolver.Resolver.__init__(self)
        self.events: list[yaml.Event] = []

    def emit(self, event: yaml.Event) -> None:
        self.events.append(event)


def _fields(event: yaml.Event) -> tuple[object, ...]:
    names = ("anchor", "tag", "implicit", "value", "style", "flow_style", "explicit", "encoding")
    return (type(event), *(getattr(event, name, "-") for name in names))


@settings(max_examples=int(os.environ.get("PIPEDSL_YAML_EXAMPLES", "400")))
@given(st.dictionaries(_wide, _wide_values, max_size=6))
def test_libyaml_is_handed_the_events_pyyamls_serializer_makes(data: dict[str, Any]) -> None:
    events: list[tuple[object, ...]] = []
    try:
        escape._emit_document(data, lambda event: events.append(_fields(event)))
    except escape._NotAlike:
        assert yaml_document(data) == yaml_document(data, dumper=escape._PyDumper)
        return
    recorder = _Recorder()
    recorder.open()
    recorder.serialize(escape._node(data))
    recorder.close()
    assert events == [_fields(e) for e in recorder.events]


@pytest.mark.parametrize("length", range(118, 131))
def test_long_keys_that_are_not_strings_are_written_as_pyyaml_writes_them(length: int) -> None:
    # The Python emitter counts a key's tag against the simple-key limit; libyaml does not.
    # (Only an int key can be this long: a float, a bool or None is written in a few characters.)
    key = int("1" * length)
    data: dict[Any, Any] = {key: "v", "long": {key: [1]}}
    assert yaml_document(data) == _reference(data)
    assert yaml.safe_load(yaml_document(data)) == data


def test_a_value_that_cannot_be_written_is_refused_whichever_emitter_would_write() -> None:
    cases: list[dict[Any, Any]] = [{"a": "x\x01", "b": object()}, {"a": "😀", (1,): "v"}]
    for data in [*cases, {"a": object()}]:
        with pytest.raises(yaml.representer.RepresenterError):
            escape.yaml_emitter(data)
        with pytest.raises(yaml.representer.RepresenterError):
            yaml_document(data)


@_needs_libyaml
def test_manifests_of_the_fixture_projects_go_through_libyaml() -> None:
    # The speed of a large render rests on this: a rule that sends ordinary manifests to the
    # Python emitter would pass every other test.
    chosen = []
    for path in sorted((ROOT / "tests" / "fixtures" / "projects").glob("*.py")):
        project = load_project(path)
        runtimes = [c.runtime for c in project.components] + [
            s.runtime for s in project.backing_services
        ]
        for runtime in runtimes:
            if runtime is not None:
                chosen += [escape.yaml_emitter(manifest(o)) for o in rendered_objects(runtime)]
    assert chosen
    assert all(dumper is escape._CDumper for dumper in chosen)
