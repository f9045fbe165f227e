"""State serialization: every process in bpmn/ is driven to completion, and at each point
where it waits the stored state must load and dump back to the same JSON, agree with the
task and timer tables, and stay small (the spec is stored once per version, not per
instance).

The processes run on the programme's runtime in the small city of ``programme_org``: the
post, unit and campaign cycles write the register and call each other, so every instance a
run creates (the children of call activities too) is driven and checked, messages included.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Any

import orjson
import pytest
from lxml import etree
from sqlalchemy import select

from engine import serialization
from engine.actors import Actor
from engine.execution.checkout import load_definition
from engine.execution.workflow import ready_human_tasks, waiting_timers
from engine.models import ACTIVE_STATUSES, InstanceStatus, ProcessInstance
from engine.parsing import NS
from engine.serialization import STATE_FORMAT, dump_state, load_state, spiff_state
from engine.services import messages
from tests.conftest import ADMIN, BPMN_DIR

from .conftest import Driver, post_attributes
from .programme.programme_org import City, post_data

MAX_STATE_BYTES = 8 * 1024
MAX_STEPS = 400
BPMN_FILES = sorted(p.name for p in BPMN_DIR.glob("*.bpmn"))


def processes_in(filename: str) -> list[str]:
    """The executable processes a file defines (a caller's definition also lists the files
    of the processes it calls; those are not its own)."""
    tree = etree.parse(str(BPMN_DIR / filename))
    return [p.get("id") for p in tree.iterfind("bpmn:process", NS)
            if p.get("isExecutable") == "true"]

#: Start data per process where the post attributes alone would not do.
START_DATA: dict[str, dict[str, Any]] = {
    "disposal": {"finding": {"source": "complaint", "description": "群众投诉办件拖延"},
                 "post_code": "czj-ysk-sh", "department_code": "czj-ysk", "unit_code": "czj",
                 "year": 2011, "official": "王小明"},
    "post_cycle": post_data("fgw-tzc-tj"),
    "unit_cycle": {"unit_code": "fgw", "year": 2011},
    "campaign": {"year": 2011, "units": ["czj"]},
    "institutions": {"unit_code": "fgw", "year": 2011},
}
#: Messages sent once, when an instance first waits for them (payloads as the public sends).
MESSAGES = {"public_suggestion": {"text": "窗口办事拖延", "contact": "13800000000"},
            "publicity_objection": {"text": "等级定得偏低"}}

#: Completion data where a generated sample would not do: the first review of a post rejects
#: the level, so the change of level (with its reason) is stored and reloaded too.
#: The institutions' answers without a finding: a finding needs a post the small city's
#: leaders do not hold (tests/engine/programme/test_institutions.py covers findings).
SCRIPTED: dict[str, list[dict[str, Any]]] = {
    "review": [{"approved": False}],
    "democratic_evaluation": [{"score": 80, "staff_raters": 1, "public_raters": 1}],
    "follow_up_visit": [{"held_on": "2011-06-30", "participants": 1, "problems_found": False}],
    "unannounced_inspection": [{"inspected_on": "2011-09-30", "method": "open", "checked": "x",
                                "problems_found": False}]}


def _unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


def sample(schema: dict[str, Any]) -> Any:
    """The smallest value a formSchema (the JSON Schema subset engine/forms.py knows) accepts."""
    kind = schema.get("type", "string")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {})
        required = list(schema.get("required", []))
        made = {name: sample(properties[name]) for name in required if name in properties}
        for member in schema.get("allOf", []):  # if/then: what the answers given ask for
            tests = member.get("if", {}).get("properties", {})
            if tests and all(made.get(k) == t.get("const") for k, t in tests.items()):
                made |= {name: sample(properties[name])
                         for name in member.get("then", {}).get("required", [])}
        return made
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}))
                for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2011-01-04"
    return "x" * max(1, schema.get("minLength", 1))


def _form_data(driver: Driver, definition_id: int, element_id: str,
               scripted: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    if scripted.get(element_id):
        return scripted[element_id].pop(0)
    with driver.rt.uow(write=False) as uow:
        raw = load_definition(uow, definition_id).element(element_id)["properties"].get(
            "formSchema")
    return sample(orjson.loads(raw)) if raw else {}


def _expanded(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored (format 2) state as format 1: SpiffWorkflow's own mapping, UUID text."""
    old = {k: v for k, v in orjson.loads(orjson.dumps(stored)).items()
           if k not in ("format", "spiff")}
    serialization._expand(old)
    return old


def _packed_and_read(dct: dict[str, Any]) -> Any:
    """``dct`` through the same encoding a stored state goes through (dates, tuples...)."""
    return _unpack(serialization._pack(dct, serialization._codec().encode_default))


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
    assert _expanded(stored) == _packed_and_read(spiff_state(loaded))

    # The cached live workflow (if any) is the same workflow the database holds.
    cached = driver.rt.workflows.checkout(iid, instance.revision)
    if cached is not None:
        assert _unpack(dump_state(cached)) == stored
        assert _expanded(stored) == _packed_and_read(spiff_state(cached))
        driver.rt.workflows.checkin(iid, instance.revision, cached)

    # What was loaded agrees with the task and timer tables.
    assert set(ready_human_tasks(loaded)) == {t.id for t in driver.tasks(iid)}
    assert {(tid, due) for tid, (_t, due, _k) in waiting_timers(loaded).items()} == \
        {(t.task_id, t.due_at) for t in driver.timers(iid)}
    assert loaded.is_completed() == (instance.status == InstanceStatus.COMPLETED)
    return stored


def _active(driver: Driver, root: int) -> list[ProcessInstance]:
    """The run's instances still going: the root and whatever it called, at any depth."""
    with driver.rt.uow(write=False) as uow:
        instances = list(uow.session.scalars(select(ProcessInstance)
                                             .order_by(ProcessInstance.id)))
    family, found = {root}, True
    while found:
        found = False
        for instance in instances:
            if instance.parent_instance_id in family and instance.id not in family:
                family.add(instance.id)
                found = True
    return [i for i in instances if i.id in family and i.status in ACTIVE_STATUSES]


def _send_a_message(driver: Driver, instances: list[ProcessInstance], sent: set[str]) -> bool:
    for instance in instances:
        with driver.rt.uow() as uow:
            waiting = messages.waiting_messages(uow, instance.id)
        for name in waiting:
            if name in MESSAGES and name not in sent:
                sent.add(name)
                with driver.rt.uow() as uow:
                    messages.send_message(uow, instance.id, name, MESSAGES[name],
                                          Actor("public"))
                return True
    return False


def drive(driver: Driver, root: int, scripted: dict[str, list[dict[str, Any]]]) -> int:
    """Drive the root instance and everything it calls to the end; check every stored state
    each time it changed. Returns how many waits were checked."""
    checked: dict[int, int] = {}
    sent: set[str] = set()
    waits = 0
    for _ in range(MAX_STEPS):
        with driver.rt.uow(write=False) as uow:
            everyone = list(uow.session.scalars(select(ProcessInstance)))
        for instance in everyone:
            assert instance.status != InstanceStatus.ERROR, instance.error_message
            if checked.get(instance.id) != instance.revision:
                check_roundtrip(driver, instance.id)
                checked[instance.id] = instance.revision
                waits += 1
        if driver.instance(root).status == InstanceStatus.COMPLETED:
            return waits
        active = _active(driver, root)
        tasks = sorted((t for i in active for t in driver.tasks(i.id)),
                       key=lambda t: (t.created_at, t.instance_id, t.element_id))
        if _send_a_message(driver, active, sent):
            continue
        if tasks:
            task = tasks[0]
            definition_id = driver.instance(task.instance_id).definition_id
            driver.complete(task.id, ADMIN,
                            _form_data(driver, definition_id, task.element_id, scripted))
            continue
        upcoming = driver.next_due()
        assert upcoming is not None, "waiting for nothing"
        assert driver.advance_to(upcoming + timedelta(seconds=1)) >= 1
    raise AssertionError(f"instance {root} did not finish in {MAX_STEPS} steps")


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_every_process_round_trips_at_every_wait(city: City, filename: str) -> None:
    processes = processes_in(filename)
    assert processes, f"{filename} holds no executable process"
    for process_id in processes:
        scripted = {k: list(v) for k, v in SCRIPTED.items()}
        iid = city.start(process_id, START_DATA.get(process_id, post_attributes()))
        assert drive(city, iid, scripted) > 1
        assert city.instance(iid).status == InstanceStatus.COMPLETED


def test_post_cycle_waiting_points(city: City) -> None:
    """The post cycle's waits, by name: each state is loadable on a cold runtime."""
    iid = city.start("post_cycle", post_data("fgw-tzc-sp"))
    scripted = {k: list(v) for k, v in SCRIPTED.items()}
    seen: list[tuple[str, ...]] = []
    sizes = []
    for _ in range(MAX_STEPS):
        city.rt.workflows.clear()  # load from the database, not from the cache
        check_roundtrip(city, iid)
        sizes.append(len(city.instance(iid).state))
        open_now = tuple(city.open_elements(iid))
        timers = tuple(t.element_id for t in city.timers(iid))
        seen.append(open_now + timers)
        if city.instance(iid).status == InstanceStatus.COMPLETED:
            break
        # The year's monitoring stays open while its quarterly self-checks fall due.
        others = [t for t in city.tasks(iid) if t.element_id != "monitoring"]
        if others or not timers:
            task = (others or city.tasks(iid))[0]
            definition_id = city.instance(iid).definition_id
            city.complete(task.id, ADMIN,
                          _form_data(city, definition_id, task.element_id, scripted))
        else:
            [timer] = city.timers(iid)
            city.advance_to(timer.due_at)
    quarter = (("monitoring", "quarterly_self_check"),
               ("monitoring", "self_check", "quarterly_self_check"))
    assert seen == [
        ("self_identified",), ("peer_checked",), ("leader_pointed",), ("organization_reviewed",),
        ("review",), ("change_level",), ("publicity_expired",),
        ("integrity_talk", "monitoring", "prevention", "quarterly_self_check"),
        ("monitoring", "prevention", "quarterly_self_check"), *quarter * 3,
        ("monitoring", "quarterly_self_check"), ("monitoring", "self_check"), ("monitoring",),
        ("assessment",), ("correct_shortfall [child]",), (),
    ]
    assert max(sizes) < MAX_STATE_BYTES
    assert city.data(iid)["post_level"] == 1
