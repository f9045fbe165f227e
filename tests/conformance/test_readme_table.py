"""The README's conformance table (BPMN 支持 · BPMN conformance) names only test files that
exist here and constructs they prove — so the table cannot claim more than the suite."""

from __future__ import annotations

import re

from engine.settings import PROJECT_ROOT

SECTION = "### BPMN 支持 · BPMN conformance"


def _rows() -> list[list[str]]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    body = text[text.index(SECTION):].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_every_cited_test_file_exists_and_every_supported_row_cites_one() -> None:
    rows = _rows()
    assert rows
    for construct, status, proof in rows:
        cited = re.findall(r"`(tests/[^`]+\.py)`", proof)
        for path in cited:
            assert (PROJECT_ROOT / path).is_file(), (construct, path)
        if status.startswith("supported"):
            assert cited, f"'{construct}' is said supported but no test proves it"
