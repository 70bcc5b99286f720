"""junit.xml for CI: one testsuite per gate, one testcase per criterion.

fail -> <failure>; inconclusive and waived -> <skipped> (neither is a pass); warning passes, with its reason
in <system-out>. Rendered from the verdict dict (verdict.json); nothing is recomputed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: Any) -> str:
    """XML 1.0 cannot carry control characters at all, even escaped: drop them."""
    return _INVALID_XML.sub("", "" if text is None else str(text))


def junit_tree(verdict: dict[str, Any]) -> ET.ElementTree:
    gates = verdict["gates"]
    root = ET.Element("testsuites", name=f"launchgate {_x(verdict['run'])}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for gate in gates:
        criteria = gate["criteria"]
        failures = sum(c["verdict"] == "fail" for c in criteria)
        skipped = sum(c["verdict"] in ("inconclusive", "waived") for c in criteria)
        suite = ET.SubElement(root, "testsuite", name=_x(gate["id"]), tests=str(len(criteria)),
                              failures=str(failures), errors="0", skipped=str(skipped), time="0",
                              timestamp=_x(verdict["generated"]))
        props = ET.SubElement(suite, "properties")
        for name, value in (("title", gate["title"]), ("verdict", gate["verdict"]),
                            ("score", "" if gate["score"] is None else f"{gate['score']:.1f}"),
                            ("reason", gate["reason"]), ("target", verdict["target"])):
            ET.SubElement(props, "property", name=name, value=_x(value))
        for crit in criteria:
            _testcase(suite, gate["id"], crit)
        totals["tests"] += len(criteria)
        totals["failures"] += failures
        totals["skipped"] += skipped
    for name, value in totals.items():
        root.set(name, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return ET.ElementTree(root)


def _testcase(suite: ET.Element, gate_id: str, crit: dict[str, Any]) -> None:
    case = ET.SubElement(suite, "testcase", classname=_x(f"launchgate.{gate_id}"), name=_x(crit["id"]), time="0")
    props = ET.SubElement(case, "properties")
    for name in ("verdict", "value_text", "threshold_text", "samples", "key", "weight"):
        ET.SubElement(props, "property", name=name, value=_x(crit[name]))
    reason = _x(crit["reason"])
    body = f"{_x(crit['wording'])}\nmeasured: {_x(crit['value_text'])} (needs {_x(crit['threshold_text'])})\n{reason}"
    verdict = crit["verdict"]
    if verdict == "fail":
        failure = ET.SubElement(case, "failure", message=reason[:500], type="fail")
        failure.text = body + _evidence_lines(crit)
    elif verdict in ("inconclusive", "waived"):
        ET.SubElement(case, "skipped", message=f"{verdict}: {reason[:500]}")
    ET.SubElement(case, "system-out").text = body


def _evidence_lines(crit: dict[str, Any]) -> str:
    lines = []
    for ref in crit.get("evidence", [])[:20]:
        if ref["outcome"] in ("failed", "error"):
            where = f" ({ref['location']})" if ref.get("location") else ""
            lines.append(f"- {ref['kind']} '{ref['name']}'{where}: {ref.get('error') or ref['outcome']}")
    return ("\n\nevidence:\n" + _x("\n".join(lines))) if lines else ""


def write_junit(verdict: dict[str, Any], path: Path) -> None:
    junit_tree(verdict).write(path, encoding="utf-8", xml_declaration=True)
