"""Compact, versioned serialization of specs and workflow state.

A process spec is serialized once per definition version (``spec_blob``); an instance's
state holds only its task tree and data, never the spec. State blobs are orjson + zlib:
SpiffWorkflow's own JSON embeds the ≈12 KB spec in every instance and costs ≈1 ms per dump.

The state carries ``STATE_FORMAT`` (ours) and SpiffWorkflow's serializer version, so a
future change of either gets a named migration instead of a silent misread.
"""

from __future__ import annotations

import base64
import threading
import zlib
from datetime import date
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.deep_merge import DeepMerge

from .calls import IRPM_SERIALIZER_CONFIG

#: 1: SpiffWorkflow's task mapping as is. 2: tasks as a list with parent/children as list
#: positions and ids as 22-character base64 — random UUIDs, written three times each as
#: 36-character hex, were most of a compressed state. ``load_state`` reads both.
STATE_FORMAT = 2
SPEC_FORMAT = 1
_ZLIB_LEVEL = 6
_ORJSON_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

SpecBundle = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


class StateFormatError(ValueError):
    """A stored blob was written in a format this code cannot read."""


class _Codec:
    """Per-thread registry: SpiffWorkflow toggles a mode flag on it while converting."""

    def __init__(self) -> None:
        self.registry = BpmnWorkflowSerializer.configure(IRPM_SERIALIZER_CONFIG)
        self.registry.register(date, lambda v: {"value": v.isoformat()},
                               lambda v: date.fromisoformat(v["value"]))
        typename = self.registry.typenames[BpmnWorkflow]
        # register() wraps the bound to_dict in a partial; its second argument is the method.
        self.workflow_converter = self.registry.convert_to_dict[typename].args[1].__self__

    def encode_default(self, obj: Any) -> Any:
        converted = self.registry.convert(obj)
        if converted is obj:
            raise TypeError(f"task data holds a {type(obj).__name__}, which cannot be stored")
        return converted


_local = threading.local()


def _codec() -> _Codec:
    codec: _Codec | None = getattr(_local, "codec", None)
    if codec is None:
        codec = _local.codec = _Codec()
    return codec


def _pack(obj: Any, default: Any = None) -> bytes:
    return zlib.compress(orjson.dumps(obj, default=default, option=_ORJSON_OPTS), _ZLIB_LEVEL)


def _unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


def dump_spec(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> bytes:
    registry = _codec().registry
    return _pack({
        "format": SPEC_FORMAT,
        "spiff": SPIFF_SERIALIZER_VERSION,
        "spec": registry.convert(spec),
        "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()},
    })


def load_spec(blob: bytes) -> SpecBundle:
    dct = _unpack(blob)
    if dct.get("format") != SPEC_FORMAT:
        raise StateFormatError(f"spec format {dct.get('format')!r} is not {SPEC_FORMAT}")
    registry = _codec().registry
    subprocess_specs = {name: registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return registry.restore(dct["spec"]), subprocess_specs


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The workflow's task tree, data and events — without its spec.

    Written straight in format 2: going through SpiffWorkflow's converter turned every task
    id into UUID text (three times per task) only to parse it back to shorten it — a third
    of a new instance's dump. The result is the same: ``spiff_state``, expanded, is the
    reference tests/engine/test_roundtrip.py holds every stored state to.
    """
    codec = _codec()
    registry = codec.registry
    registry._encoder_mode = True
    try:
        dct = _workflow_rows(workflow, registry)
        dct["subprocesses"] = {str(task_id): _subprocess_rows(sub, registry)
                               for task_id, sub in workflow.subprocesses.items()}
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
    finally:
        registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    dct["spiff"] = SPIFF_SERIALIZER_VERSION
    return _pack(dct, codec.encode_default)


def spiff_state(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The workflow as SpiffWorkflow's own converter writes it (format 1, before packing):
    the reference ``dump_state`` must agree with once expanded."""
    codec = _codec()
    registry, converter = codec.registry, codec.workflow_converter
    registry._encoder_mode = True
    try:
        dct: dict[str, Any] = WorkflowConverter.to_dict(converter, workflow)
        dct["subprocesses"] = converter.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
    finally:
        registry._encoder_mode = False
    return dct


def _ref(index: dict[UUID, int], task_id: UUID) -> int | str:
    """A task reference: its position, or its UUID text if it is not in this tree."""
    position = index.get(task_id)
    return str(task_id) if position is None else position


def _workflow_rows(workflow: Any, registry: Any) -> dict[str, Any]:
    """What ``WorkflowConverter.to_dict`` writes, compacted as it goes (key order kept)."""
    tasks = workflow.tasks
    index = {task_id: i for i, task_id in enumerate(tasks)}
    last = workflow.last_task
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": _ref(index, last.id) if last is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": [_task_row(task, tasks.get(task._parent), index, registry)
                  for task in tasks.values()],
        "root": _ref(index, workflow.task_tree.id),
    }


def _subprocess_rows(subprocess: Any, registry: Any) -> dict[str, Any]:
    """What ``BpmnSubWorkflowConverter.to_dict`` writes, compacted, with the typename the
    registry adds (loading restores a subprocess by it)."""
    dct = _workflow_rows(subprocess, registry)
    dct["parent_task_id"] = str(subprocess.parent_task_id)
    dct["spec"] = subprocess.spec.name
    dct["typename"] = registry.typenames[type(subprocess)]
    return dct


def _task_row(task: Any, parent: Any, index: dict[UUID, int], registry: Any) -> dict[str, Any]:
    """What SpiffWorkflow's ``TaskConverter.to_dict`` writes, with the id shortened and the
    references as positions: a child stores only its data's difference from its parent's."""
    if parent is None:
        data, delta = task.data, {}
    else:
        data = {}
        delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                 "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
    return {
        "id": base64.urlsafe_b64encode(task.id.bytes).rstrip(b"=").decode(),
        "parent": _ref(index, task._parent) if parent is not None else None,
        "children": [_ref(index, child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(task.internal_data),
        "data": data,
        "delta": delta,
        "typename": registry.typenames[type(task)],
    }


#: Values task data holds as they are (anything else must be registered with the codec).
_PLAIN = (str, int, float, bool, type(None), list, tuple, dict)


def unstorable(data: dict[str, Any]) -> dict[str, str]:
    """The variables of ``data`` that a saved state could not hold, each with why.

    One trial encoding of the whole mapping, as ``dump_state`` encodes task data; only when
    that fails are the variables tried one by one to name them. Called after every script,
    so the common case is the one encoding.
    """
    if _encodes(data):
        return {}
    return {str(name): _why(value) for name, value in data.items() if not _encodes(value)}


def _encodes(value: Any) -> bool:
    """Whether ``value`` encodes as ``dump_state`` writes it: orjson, with the registry's
    conversions (dates, UUIDs, ...) as its fallback for what it does not know. orjson walks
    plain values in C (a few µs for a task's data) and refuses a value that contains itself."""
    try:
        orjson.dumps(value, default=_codec().encode_default, option=_ORJSON_OPTS)
    except (TypeError, ValueError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return False
    return True


def _why(value: Any, seen: frozenset[int] = frozenset()) -> str:
    """A reason a person can act on: which kind of value, where in it."""
    if id(value) in seen:
        return "it contains itself"
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**64:
        return "the number is too large (more than 64 bits)"
    inner = seen | {id(value)}
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not _encodes(item):
                return f"item {index}: {_why(item, inner)}"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _encodes(item):
                return f"key {key!r}: {_why(item, inner)}"
    if isinstance(value, _PLAIN):
        return "it cannot be encoded"
    return (f"a {type(value).__name__} is not a value task data can hold (text, numbers, "
            "true/false, lists, mappings, dates)")


def _long(short: str) -> str:
    return str(UUID(bytes=base64.urlsafe_b64decode(short + "==")))


def _expand(workflow: dict[str, Any]) -> None:
    """Format 2 back to format 1: positions (ints) back to UUID text, the list back to a mapping."""
    rows = workflow["tasks"]
    ids = [_long(task["id"]) for task in rows]

    def ref(value: Any) -> Any:
        return ids[value] if isinstance(value, int) else value

    tasks = {}
    for task_id, task in zip(ids, rows, strict=True):
        task["id"] = task_id
        task["parent"] = ref(task.get("parent"))
        task["children"] = [ref(c) for c in task["children"]]
        tasks[task_id] = task
    workflow["tasks"] = tasks
    for key in ("root", "last_task"):
        workflow[key] = ref(workflow.get(key))
    for sub in workflow.get("subprocesses", {}).values():
        _expand(sub)


def load_state(blob: bytes, bundle: SpecBundle, script_engine: Any) -> BpmnWorkflow:
    dct = _unpack(blob)
    state_format = dct.pop("format", None)
    if state_format not in (1, STATE_FORMAT) or dct.pop("spiff", None) != \
            SPIFF_SERIALIZER_VERSION:
        raise StateFormatError("instance state was written by an unknown format version")
    if state_format == 2:
        _expand(dct)
    codec = _codec()
    converter = codec.workflow_converter
    spec, subprocess_specs = bundle
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine,
                            deserializing=True)
    workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(workflow, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = codec.registry.restore(dct.get("bpmn_events", []))
    return workflow
