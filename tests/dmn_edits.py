"""Editing a shipped decision table in a test, as a designer would: change a rule, then the
test cases the change was meant to alter (``retested``). A table whose cases fail is refused
at deploy (``engine.decision_cases``), so a test that deploys an altered rule brings its
cases along — the new answers become the cases' expectations."""

from __future__ import annotations

from lxml import etree

from engine.decision_cases import CASES_NS, read_cases, run_cases
from engine.parsing import Source, parse_xml


def retested(filename: str, xml: str) -> str:
    """``xml`` with each failing case's expected outputs set to what the table now answers
    (a case the table no longer answers at all is removed)."""
    root = parse_xml(Source(filename, xml.encode()))
    cases_by_decision = read_cases(filename, root)
    by_id = {node.get("id"): node for node in root.iter(f"{{{CASES_NS}}}testCase")}
    for decision_id, cases in cases_by_decision.items():
        for outcome in run_cases(filename, root, decision_id, cases):
            if outcome.passed:
                continue
            node = by_id[outcome.case.case_id]
            if outcome.error or set(outcome.actual) != set(outcome.case.expected):
                node.getparent().remove(node)
                continue
            for expect in node.iter(f"{{{CASES_NS}}}expect"):
                expect.text = repr(outcome.actual[expect.get("name")])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def without_cases(xml: str) -> str:
    """``xml`` with no test cases: a table that carries none deploys unchecked (for tests
    of what the engine does with a table no case would let through)."""
    root = parse_xml(Source("table.dmn", xml.encode()))
    for node in list(root.iter(f"{{{CASES_NS}}}testCase")):
        node.getparent().remove(node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
