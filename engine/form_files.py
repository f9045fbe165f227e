"""SpiffArena's form files: a user task names its JSON Schema and its ui-schema in the
extension properties ``formJsonSchemaFilename`` / ``formUiSchemaFilename``, and the files
are deployed beside the BPMN.

At deploy the files a task names are read, checked (JSON objects; the schema must compile
into the form the engine validates with) and written into the task's catalog entry as the
``formSchema`` / ``formUiSchema`` properties, and stored with the version as its sources. The
form is therefore part of the deployed version: an instance keeps the form it was started
with whatever is deployed later, and the engine's validation and the task page read one
place — the catalog — for inline and file forms alike. A changed form file gives the process
a new version (its content hash covers the file).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .errors import DeploymentError
from .forms import compile_form
from .parsing import ParsedProcess, Source

__all__ = ["FORM_SUFFIX", "SCHEMA_FILE", "UI_FILE", "attach_form_files", "split_form_files"]

FORM_SUFFIX = ".json"
SCHEMA_FILE = "formJsonSchemaFilename"
UI_FILE = "formUiSchemaFilename"
#: The catalog property the ui-schema is written into (the schema goes into ``formSchema``).
UI_PROPERTY = "formUiSchema"


def split_form_files(sources: Sequence[Source]) -> tuple[list[Source], dict[str, Source]]:
    """The BPMN/DMN sources, and the JSON files by name (each checked to be a JSON object)."""
    models: list[Source] = []
    forms: dict[str, Source] = {}
    for source in sources:
        if not source.filename.lower().endswith(FORM_SUFFIX):
            models.append(source)
            continue
        try:
            value = json.loads(source.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = f": {exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) \
                else ""
            raise DeploymentError(f"not a valid JSON file{where}; a form file holds one JSON "
                                  "object", filename=source.filename) from None
        if not isinstance(value, dict):
            raise DeploymentError("a form file must hold one JSON object ({…})",
                                  filename=source.filename)
        forms[source.filename] = source
    return models, forms


def _named(process: ParsedProcess, element: str, name: str, prop: str, value: str,
           forms: dict[str, Source]) -> Source:
    found = forms.get(value.strip())
    if found is None:
        given = ", ".join(sorted(forms)) or "none"
        raise DeploymentError(
            f"the user task '{name}' ({element}) of process '{process.process_id}' names "
            f"{prop} '{value}', which was not deployed with it (JSON files given: {given}); "
            "deploy the file beside the BPMN file, in the same deploy",
            filename=process.sources[0].filename if process.sources else None)
    return found


def attach_form_files(parsed: Sequence[ParsedProcess], forms: dict[str, Source]) -> None:
    """Write each form file a task names into its catalog entry and the process's sources.

    Raises ``DeploymentError`` (nothing is stored) when a named file is missing, when a task
    has both an inline ``formSchema`` and a schema file, or when the schema does not compile.
    """
    for process in parsed:
        used: dict[str, Source] = {}
        for element, entry in process.catalog.items():
            properties = entry.get("properties") or {}
            name = str(entry.get("name") or element)
            schema_name = properties.get(SCHEMA_FILE)
            if schema_name:
                if properties.get("formSchema"):
                    raise DeploymentError(
                        f"the user task '{name}' ({element}) has both an inline formSchema "
                        f"and {SCHEMA_FILE}; keep one of them",
                        filename=process.sources[0].filename if process.sources else None)
                source = _named(process, element, name, SCHEMA_FILE, schema_name, forms)
                try:
                    compile_form(source.text)
                except DeploymentError as exc:
                    raise DeploymentError(f"the form of '{name}' ({element}): {exc}",
                                          filename=source.filename) from None
                properties["formSchema"] = source.text
                used[source.filename] = source
            ui_name = properties.get(UI_FILE)
            if ui_name:
                source = _named(process, element, name, UI_FILE, ui_name, forms)
                properties[UI_PROPERTY] = source.text
                used[source.filename] = source
            entry["properties"] = properties
        known = {s.filename for s in process.sources}
        process.sources.extend(s for n, s in sorted(used.items()) if n not in known)
