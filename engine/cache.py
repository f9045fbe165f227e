"""Per-process caches: parsed specs by definition id, live workflows by instance id.

Specs are immutable per definition version, so their cache is always correct. A live
workflow is valid only for the instance revision it was built from; it is *checked out*
(removed) while a service mutates it and checked back in after commit, so a failed
transaction can never leave a half-changed workflow behind, and another process's write
(which bumps the revision) simply makes the entry miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from .forms import compile_form
from .serialization import SpecBundle


@dataclass
class LoadedDefinition:
    id: int
    process_id: str
    version: int
    name: str
    bundle: SpecBundle
    catalog: dict[str, dict[str, Any]]
    _forms: dict[str, type[Schema] | None] = field(default_factory=dict)

    @property
    def has_calls(self) -> bool:
        """Whether any element is a call activity (saves scanning the task tree if not)."""
        if self._has_calls is None:
            self._has_calls = any(e.get("type") == "DetachedCallActivity"
                                  for e in self.catalog.values())
        return self._has_calls

    _has_calls: bool | None = None

    def element(self, element_id: str) -> dict[str, Any]:
        return self.catalog.get(element_id) or {"name": element_id, "properties": {}}

    def form(self, element_id: str) -> type[Schema] | None:
        if element_id not in self._forms:
            raw = self.element(element_id).get("properties", {}).get("formSchema")
            self._forms[element_id] = compile_form(raw)
        return self._forms[element_id]


class SpecCache:
    def __init__(self) -> None:
        self._items: dict[int, LoadedDefinition] = {}

    def get(self, definition_id: int) -> LoadedDefinition | None:
        return self._items.get(definition_id)

    def put(self, loaded: LoadedDefinition) -> None:
        self._items[loaded.id] = loaded


class WorkflowCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def checkout(self, instance_id: int, revision: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None and entry[0] == revision:
                self.hits += 1
                return entry[1]
            self.misses += 1
            return None

    def holds(self, instance_id: int, revision: int) -> bool:
        """Whether ``checkout`` would hit (a peek: counts nothing, moves nothing)."""
        with self._lock:
            entry = self._items.get(instance_id)
            return entry is not None and entry[0] == revision

    def checkin(self, instance_id: int, revision: int, workflow: BpmnWorkflow) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[instance_id] = (revision, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def discard(self, instance_id: int) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
