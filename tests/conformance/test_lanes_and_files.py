"""Issue 12, points 3 and 4: lanes and files as SpiffWorkflow reads them.

Each test runs one small file of ``models/`` through raw SpiffWorkflow in memory and through
IRPM (deployed, started, completed) in the same run, and compares what both did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.actors import Actor
from engine.errors import DeploymentError
from engine.models import HumanTask, TaskState
from engine.parsing import DMN_SCHEMAS, Source, read_sources
from engine.runtime import Runtime
from engine.services import design, instances, tasks
from tests.conftest import deploy_text

MODELS = Path(__file__).parent / "models"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _raw_lanes(filename: str, process_id: str) -> list[tuple[str, str | None]]:
    """(element id, lane name) of each user task raw SpiffWorkflow makes ready, in order,
    completing each one."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / filename))
    wf = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
    wf.do_engine_steps()
    seen = []
    while ready := wf.get_tasks(state=SpiffState.READY, manual=True):
        for task in ready:
            seen.append((task.task_spec.bpmn_id, task.task_spec.lane))
            task.run()
        wf.do_engine_steps()
    assert wf.is_completed()
    return seen


def _lane_ids_by_name(filename: str) -> dict[str, str]:
    root = etree.parse(str(MODELS / filename)).getroot()
    return {lane.get("name"): lane.get("id") for lane in root.iter(f"{BPMN}lane")}


def _open_tasks(rt: Runtime, instance_id: int) -> list[HumanTask]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN)))


def _inbox_ids(rt: Runtime, actor: Actor) -> set[Any]:
    with rt.uow(write=False) as uow:
        found, *_ = tasks.list_tasks(uow, actor, tasks.TaskFilter(view="claimable"))
        return {t.id for t in found}


def test_tasks_inside_subprocesses_take_the_lane_spiffworkflow_gives_them(rt: Runtime) -> None:
    """A subprocess (and a subprocess in it, and a transaction) drawn in a lane hands that
    lane to every task inside that no lane names — raw SpiffWorkflow's ``task_spec.lane``
    and IRPM's routing (the task row's lane, its candidate group, who has it in their
    inbox) agree task by task."""
    filename = "lanes_subprocess.bpmn"
    raw = _raw_lanes(filename, "lanes_subprocess")
    assert raw == [("prepare", "Staff"), ("inner_check", "Reviewers"),
                   ("deep_check", "Reviewers"), ("tx_task", "Staff")]
    lane_ids = _lane_ids_by_name(filename)
    deploy_text(rt, filename, (MODELS / filename).read_text(encoding="utf-8"))
    with rt.uow() as uow:
        instance_id = instances.start_instance(uow, "lanes_subprocess", None, {}).id
    reviewer = Actor("reviewer1", frozenset({"reviewers"}))
    clerk = Actor("clerk1", frozenset({"staff"}))
    outsider = Actor("outsider1", frozenset({"somebody_else"}))
    irpm = []
    while open_tasks := _open_tasks(rt, instance_id):
        [task] = open_tasks
        group = lane_ids[dict(raw)[task.element_id]]
        assert (task.lane, task.candidate_groups, task.administrators_only) == (
            group, [group], False), task.element_id
        member = reviewer if group == "reviewers" else clerk
        assert task.id in _inbox_ids(rt, member)
        assert task.id not in _inbox_ids(rt, outsider)
        irpm.append(task.element_id)
        with rt.uow() as uow:
            tasks.complete_task(uow, task.id, member, {})
    assert irpm == [element for element, _lane in raw]
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, instance_id).status == "completed"


# ------------------------------------------------------------------------------ files


def _raw_grades(version: str, scores: list[int]) -> list[Any]:
    """What raw SpiffWorkflow's business-rule task writes for each score. The DMN 1.2 file
    is read without XSD validation: SpiffWorkflow 3.2's own DMN 1.2 schema cannot be loaded
    (``engine.parsing.DMN_SCHEMAS``)."""
    parser = SpiffBpmnParser(validator=VALIDATOR, dmn_schemas=DMN_SCHEMAS)
    parser.add_dmn_file(str(MODELS / f"grade_dmn{version}.dmn"))
    parser.add_bpmn_file(str(MODELS / f"grade_dmn{version}.bpmn20.xml"))
    grades = []
    for score in scores:
        wf = BpmnWorkflow(parser.get_spec(f"grading_dmn{version}"))
        wf.get_tasks()[0].data["score"] = score
        wf.do_engine_steps()
        assert wf.is_completed()
        grades.append(wf.data.get("grade"))
    return grades


@pytest.mark.parametrize("version", ["11", "12", "13"])
def test_dmn_1_1_to_1_3_with_a_bpmn20_xml_process_deploy_and_decide_as_raw(
        rt: Runtime, version: str) -> None:
    """A ``.bpmn20.xml`` process calling a DMN 1.1, 1.2 or 1.3 table passes the designer's
    validation, deploys, and grades each score as raw SpiffWorkflow does."""
    scores = [95, 80, 79, 50, 10]
    raw = _raw_grades(version, scores)
    assert raw == ["high", "high", "middle", "middle", "low"]
    sources = [Source(path.name, path.read_bytes()) for path in (
        MODELS / f"grade_dmn{version}.dmn", MODELS / f"grade_dmn{version}.bpmn20.xml")]
    assert [s.kind for s in sources] == ["dmn", "bpmn"]
    with rt.uow() as uow:
        assert design.validate_design(uow, sources) == []
        [deployed] = design.deploy_design(uow, sources, deployed_by="tests")
    assert deployed.process_id == f"grading_dmn{version}"
    irpm = []
    for score in scores:
        with rt.uow() as uow:
            instance = instances.start_instance(uow, deployed.process_id, None,
                                                {"score": score})
            assert instance.status == "completed"
            irpm.append(instances.instance_data(uow, instance.id).get("grade"))
    assert irpm == raw


def test_read_sources_takes_bpmn20_xml_from_a_directory_and_refuses_other_names(
        tmp_path: Path) -> None:
    (tmp_path / "a.bpmn20.xml").write_bytes((MODELS / "grade_dmn13.bpmn20.xml").read_bytes())
    (tmp_path / "b.dmn").write_bytes((MODELS / "grade_dmn13.dmn").read_bytes())
    (tmp_path / "notes.xml").write_text("<x/>")
    assert [(s.filename, s.kind) for s in read_sources([tmp_path])] == [
        ("a.bpmn20.xml", "bpmn"), ("b.dmn", "dmn")]
    with pytest.raises(DeploymentError, match=r"\.bpmn, \.bpmn20\.xml and \.dmn"):
        read_sources([tmp_path / "notes.xml"])
