"""Lint rules on SpiffArena's form files sent with a diagram (``engine.form_files``): each
``.json`` file is a JSON object, a schema file is a valid JSON Schema by the ``jsonschema``
meta-schema of its draft (and one the engine can compile into a form), and every
``formJsonSchemaFilename`` / ``formUiSchemaFilename`` a user task names is among the files.

Deploy would refuse the same faults one at a time; here each is a ``Problem`` naming the
file and, for a missing file, the task — so the designer shows all of them at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from lxml import etree

from ...errors import DeploymentError
from ...form_files import FORM_SUFFIX, SCHEMA_FILE, UI_FILE
from ...forms import compile_form
from ...parsing import NS, Source
from .problem import Problem, bpmn, name_of

__all__ = ["check", "is_form_file", "split"]


def is_form_file(filename: str) -> bool:
    return filename.lower().endswith(FORM_SUFFIX)


def split(sources: Sequence[Source]) -> tuple[list[Source], list[Source]]:
    """The model files (BPMN, DMN) and the form files."""
    return ([s for s in sources if not is_form_file(s.filename)],
            [s for s in sources if is_form_file(s.filename)])


def _read(source: Source) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        value = json.loads(source.content.decode("utf-8"))
    except UnicodeDecodeError:
        return None, Problem("form_file", "the file is not UTF-8 text", source.filename,
                             code="form_file_encoding")
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return None, Problem("form_file", f"not valid JSON: {detail}", source.filename,
                             None, exc.lineno, "form_file_json", {"detail": detail})
    if not isinstance(value, dict):
        return None, Problem("form_file", "a form file holds one JSON object ({…})",
                             source.filename, code="form_file_object")
    return value, None


def _schema_problem(source: Source, value: dict[str, Any]) -> Problem | None:
    """Why the schema file is not a JSON Schema (the meta-schema of its ``$schema``, draft 7
    when none) or not one the engine can make a form of."""
    try:
        validator_for(value, default=Draft7Validator).check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top"
        detail = f"at {where}: {exc.message}"
        return Problem("form_file", f"not a valid JSON Schema {detail}", source.filename,
                       code="form_file_schema", params={"detail": detail})
    try:
        compile_form(source.text)
    except DeploymentError as exc:
        return Problem("form_file", f"the engine cannot make a form of it: {exc.message}",
                       source.filename, code="form_file_form", params={"detail": exc.message})
    return None


def _references(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    """(user task, property, file name) of every form file the diagram names."""
    found = []
    for task in root.iter(bpmn("userTask")):
        for prop in task.iterfind(".//spiffworkflow:property", NS):
            name = prop.get("name")
            if name in (SCHEMA_FILE, UI_FILE) and (prop.get("value") or "").strip():
                found.append((task, str(name), str(prop.get("value")).strip()))
    return found


def _missing(models: dict[str, etree._Element], forms: Sequence[Source]
             ) -> tuple[list[Problem], set[str]]:
    """The references to form files that are not there, and the names of the schema files
    the diagrams use."""
    problems: list[Problem] = []
    schemas: set[str] = set()
    given = {s.filename for s in forms}
    for filename, root in models.items():
        for task, prop, wanted in _references(root):
            if prop == SCHEMA_FILE:
                schemas.add(wanted)
            if wanted in given:
                continue
            listed = ", ".join(sorted(given)) or "none"
            problems.append(Problem(
                "form_file", f"user task '{name_of(task)}' names {prop} '{wanted}', which is "
                f"not among the form files (given: {listed}); add it", filename,
                task.get("id"), task.sourceline, "form_file_missing",
                {"task": name_of(task), "property": prop, "file": wanted}))
    return problems, schemas


def check(models: dict[str, etree._Element], forms: Sequence[Source]) -> list[Problem]:
    """The problems of the form files and of the diagrams' references to them (``models``:
    each well-formed BPMN file's tree, by file name)."""
    problems: list[Problem] = []
    read: dict[str, dict[str, Any]] = {}
    for source in forms:
        value, problem = _read(source)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            read[source.filename] = value
    missing, schemas = _missing(models, forms)
    problems.extend(missing)
    for source in forms:
        if source.filename in schemas and source.filename in read:
            problem = _schema_problem(source, read[source.filename])
            if problem is not None:
                problems.append(problem)
    return problems
