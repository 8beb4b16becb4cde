"""Read XML files with the JDK's own parser, as Jenkins reads a job's config.xml.

The JDK's parser implements XML 1.1 (ElementTree's expat only XML 1.0): it turns raw NEL and
U+2028 into line feeds and refuses raw C1 controls in a document that declares version 1.1. All
files go to one JVM; texts come back as hex-encoded UTF-16 code units, so every character
arrives exactly as Java sees it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.support.groovy import DEFAULT_JAVA_HOME

_READER = r"""
import java.io.File;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

public class ReadXml {
    static String hex(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) out.append(String.format("%04x", (int) text.charAt(i)));
        return out.toString();
    }

    static void walk(Element element, String path, StringBuilder out) {
        String here = path.isEmpty() ? element.getTagName() : path + "/" + element.getTagName();
        boolean leaf = true;
        for (Node child = element.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element) {
                leaf = false;
                walk((Element) child, here, out);
            }
        }
        if (leaf) out.append("E:").append(hex(here)).append(":").append(hex(element.getTextContent())).append("\n");
    }

    public static void main(String[] args) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        StringBuilder out = new StringBuilder();
        for (String name : args) {
            try {
                Element root = factory.newDocumentBuilder().parse(new File(name)).getDocumentElement();
                walk(root, "", out);
                out.append("END\n");
            } catch (Exception e) {
                out.append("ERR:").append(hex(String.valueOf(e.getMessage()))).append("\n");
            }
        }
        System.out.print(out);
    }
}
"""


class XmlReadError(Exception):
    """The JDK's parser refused a file."""


def _text(hex_units: str) -> str:
    units = bytes.fromhex(hex_units)
    return units.decode("utf-16-be", "surrogatepass")


def read_leaves(files: Sequence[Path]) -> list[dict[str, list[str]] | XmlReadError]:
    """For each file, the text of every leaf element by its path (``root/child/leaf``), or the
    parser's error."""
    java_home = Path(os.environ.get("JAVA_HOME", DEFAULT_JAVA_HOME))
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "ReadXml.java")
        source.write_text(_READER, encoding="utf-8")
        done = subprocess.run(
            [str(java_home / "bin" / "java"), str(source), *map(str, files)],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    results: list[dict[str, list[str]] | XmlReadError] = []
    current: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        if line == "END":
            results.append(current)
            current = {}
        elif line.startswith("ERR:"):
            results.append(XmlReadError(_text(line[4:])))
            current = {}
        else:
            _, path, text = line.split(":")
            current.setdefault(_text(path), []).append(_text(text))
    assert len(results) == len(files), done.stderr
    return results
