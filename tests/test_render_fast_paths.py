"""Fast paths of the render agree with the plain definitions they replace."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from pipedsl.render import groovy
from pipedsl.render.configxml import _AS_REFERENCE, _serialize
from pipedsl.render.escape import GroovyCode

_PIECES = st.sampled_from(["a", " ", "\n", "\r", groovy.NO_INDENT, "\u2028", "\x85", "\x0b", "é"])


def _indent_by_lines(code: str, width: int) -> str:
    pad = " " * width
    return "\n".join(
        line if line.startswith(groovy.NO_INDENT) or not line else pad + line
        for line in code.split("\n")
    )


@given(st.lists(_PIECES, max_size=20).map("".join), st.integers(0, 8))
def test_indent_pads_every_nonempty_line_but_continuations(code: str, width: int) -> None:
    assert groovy.indent(GroovyCode(code), width) == _indent_by_lines(code, width)


@given(
    st.lists(
        st.sampled_from(["a", "<", "&", "\n", "\r", "\x7f", "\x85", "\u2028", "é"]), max_size=12
    ).map("".join)
)
def test_config_xml_references_what_xml_11_would_change(text: str) -> None:
    root = ET.Element("script")
    root.text = text
    written = _serialize(root)
    assert not _AS_REFERENCE.search(written)
    assert ET.fromstring(written.split("\n", 1)[1]).text == (text or None)  # noqa: S314
