"""State serialization: every process in bpmn/ is driven to completion, and at each point
where it waits the stored state must load and dump back to the same JSON, agree with the
task and timer tables, and stay small (the spec is stored once per version, not per
instance)."""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Any

import orjson
import pytest

from engine.execution import load_definition, ready_human_tasks, waiting_timers
from engine.models import InstanceStatus, ProcessDefinition
from engine.serialization import STATE_FORMAT, dump_state, load_state
from tests.conftest import ADMIN, BPMN_DIR

from .conftest import Driver, post_attributes

MAX_STATE_BYTES = 8 * 1024
MAX_STEPS = 60
BPMN_FILES = sorted(p.name for p in BPMN_DIR.glob("*.bpmn"))

#: Start data per process where the post attributes alone would not do.
START_DATA: dict[str, dict[str, Any]] = {
    "disposal": {"finding": {"source": "complaint", "description": "群众投诉办件拖延"},
                 "post_code": "p1", "department_code": "d1", "unit_code": "u1",
                 "official": "张三"},
}

#: Completion data where a generated sample would not do: assessment fails once (50), so
#: the correction loop is stored and reloaded too, then passes (80).
SCRIPTED: dict[str, list[dict[str, Any]]] = {"assessment": [{"score": 50}, {"score": 80}]}


def _unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


def sample(schema: dict[str, Any]) -> Any:
    """The smallest value a formSchema (the JSON Schema subset engine/forms.py knows) accepts."""
    kind = schema.get("type", "string")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: sample(spec) for name, spec in schema.get("properties", {}).items()
                if name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}))
                for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return "x" * max(1, schema.get("minLength", 1))


def _form_data(driver: Driver, definition_id: int, element_id: str,
               scripted: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    if scripted.get(element_id):
        return scripted[element_id].pop(0)
    with driver.rt.uow(write=False) as uow:
        raw = load_definition(uow, definition_id).element(element_id)["properties"].get(
            "formSchema")
    return sample(orjson.loads(raw)) if raw else {}


def check_roundtrip(driver: Driver, iid: int) -> dict[str, Any]:
    """Assert the stored state round-trips and matches the mirror; return it decoded."""
    instance = driver.instance(iid)
    stored = _unpack(instance.state)
    assert instance.state_format == STATE_FORMAT
    assert len(instance.state) < MAX_STATE_BYTES, len(instance.state)
    assert "spec" not in stored  # the spec lives with the definition

    with driver.rt.uow(write=False) as uow:
        bundle = load_definition(uow, instance.definition_id).bundle
    engine = driver.rt.script_engine
    loaded = load_state(instance.state, bundle, engine)
    dumped = dump_state(loaded)
    assert _unpack(dumped) == stored
    assert _unpack(dump_state(load_state(dumped, bundle, engine))) == stored

    # The cached live workflow (if any) is the same workflow the database holds.
    cached = driver.rt.workflows.checkout(iid, instance.revision)
    if cached is not None:
        assert _unpack(dump_state(cached)) == stored
        driver.rt.workflows.checkin(iid, instance.revision, cached)

    # What was loaded agrees with the task and timer tables.
    assert set(ready_human_tasks(loaded)) == {t.id for t in driver.tasks(iid)}
    assert {(tid, due) for tid, (_t, due, _k) in waiting_timers(loaded).items()} == \
        {(t.task_id, t.due_at) for t in driver.timers(iid)}
    assert loaded.is_completed() == (instance.status == InstanceStatus.COMPLETED)
    return stored


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_every_process_round_trips_at_every_wait(driver: Driver, filename: str) -> None:
    deployed = driver.deploy_bpmn_dir()
    with driver.rt.uow(write=False) as uow:
        mine = [d for d in deployed if filename in
                {s.filename for s in uow.session.get(ProcessDefinition, d.definition_id).sources
                 if s.kind == "bpmn"}]
    assert mine, f"{filename} holds no executable process"

    for process in mine:
        scripted = {k: list(v) for k, v in SCRIPTED.items()}
        iid = driver.start(process.process_id,
                           START_DATA.get(process.process_id, post_attributes()))
        waits = 0
        for _ in range(MAX_STEPS):
            check_roundtrip(driver, iid)
            waits += 1
            instance = driver.instance(iid)
            assert instance.status != InstanceStatus.ERROR, instance.error_message
            if instance.status == InstanceStatus.COMPLETED:
                break
            tasks = driver.tasks(iid)
            if tasks:
                task = tasks[0]
                driver.complete(task.id, ADMIN, _form_data(driver, process.definition_id,
                                                           task.element_id, scripted))
                continue
            upcoming = driver.next_due()
            assert upcoming is not None, "waiting for nothing"
            assert driver.advance_to(upcoming + timedelta(seconds=1)) >= 1
        assert driver.instance(iid).status == InstanceStatus.COMPLETED
        assert waits > 1


def test_post_cycle_waiting_points(driver: Driver) -> None:
    """The post cycle's waits, by name: each state is loadable on a cold runtime."""
    driver.deploy_bpmn_dir()
    iid = driver.start("post_cycle", post_attributes(livelihood=True))
    scripted = {k: list(v) for k, v in SCRIPTED.items()}
    seen: list[tuple[str, ...]] = []
    sizes = []
    for _ in range(MAX_STEPS):
        driver.rt.workflows.clear()  # load from the database, not from the cache
        check_roundtrip(driver, iid)
        sizes.append(len(driver.instance(iid).state))
        open_now = tuple(driver.open_elements(iid))
        timers = tuple(t.element_id for t in driver.timers(iid))
        seen.append(open_now or timers)
        if driver.instance(iid).status == InstanceStatus.COMPLETED:
            break
        if open_now:
            task = driver.tasks(iid)[0]
            definition_id = driver.instance(iid).definition_id
            driver.complete(task.id, ADMIN,
                            _form_data(driver, definition_id, task.element_id, scripted))
        else:
            driver.advance_to(driver.now() + timedelta(days=8))
    assert seen == [
        ("discovery",), ("review",), ("publicity",), ("monitoring_report", "prevention"),
        ("prevention",), ("assessment",), ("correction",), ("assessment",), (),
    ]
    assert max(sizes) < MAX_STATE_BYTES
    assert driver.data(iid)["post_level"] == 1
