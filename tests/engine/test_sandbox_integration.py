"""The sandbox seen through the engine: a deployed diagram whose script or condition reaches
for modules, files or interpreter internals puts its instance in error (with the reason),
never runs the code, and never takes the server down; ordinary scripts just work."""

from __future__ import annotations

import hashlib
from html import escape
from pathlib import Path

import pytest

from engine.models import InstanceStatus
from tests.conftest import ADMIN, deploy_text

from .conftest import Driver

SCRIPT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_{pid}" targetNamespace="urn:irpm:test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="Compute">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="check" name="Check">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>f3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="check" />
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""

GATEWAY_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_{pid}" targetNamespace="urn:irpm:test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:exclusiveGateway id="decide" default="low">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>high</bpmn:outgoing>
      <bpmn:outgoing>low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="high_task" name="High">
      <bpmn:incoming>high</bpmn:incoming>
    </bpmn:userTask>
    <bpmn:userTask id="low_task" name="Low">
      <bpmn:incoming>low</bpmn:incoming>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="high" sourceRef="decide" targetRef="high_task">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="low" sourceRef="decide" targetRef="low_task" />
  </bpmn:process>
</bpmn:definitions>"""


def _run_script(d: Driver, script: str, data: dict[str, object] | None = None) -> int:
    pid = "script_" + hashlib.sha256(script.encode()).hexdigest()[:12]
    deploy_text(d.rt, f"{pid}.bpmn", SCRIPT_PROCESS.format(pid=pid, script=escape(script)))
    return d.start(pid, data or {"amount": 20})


def _run_condition(d: Driver, condition: str, data: dict[str, object] | None = None) -> int:
    pid = "gateway_" + hashlib.sha256(condition.encode()).hexdigest()[:12]
    deploy_text(d.rt, f"{pid}.bpmn",
                GATEWAY_PROCESS.format(pid=pid, condition=escape(condition)))
    return d.start(pid, data or {"amount": 20})


@pytest.mark.parametrize(("script", "mentions"), [
    ("import os", "Import"),
    ("import os\nos.system('touch /tmp/irpm-pwned')", "Import"),
    ("from subprocess import run", "Import"),
    ("passwd = open('/etc/passwd').read()", "open"),
    ("x = ().__class__.__bases__[0].__subclasses__()", "__class__"),
    ("m = __import__('os')", "__import__"),
    ("x = getattr(amount, 'real')", "getattr"),
    ("exec('y = 1')", "Exec"),
    ("x = eval('1 + 1')", "Eval"),
])
def test_forbidden_scripts_put_the_instance_in_error(driver: Driver, script: str,
                                                     mentions: str) -> None:
    iid = _run_script(driver, script)
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert mentions in (instance.error_message or "")
    assert instance.error_element == "compute"
    assert driver.open_elements(iid) == []
    data = driver.data(iid)
    assert data == {"amount": 20}  # nothing leaked into the variables
    assert not Path("/tmp/irpm-pwned").exists()


def test_import_error_message_says_import(driver: Driver) -> None:
    iid = _run_script(driver, "import os")
    message = driver.instance(iid).error_message or ""
    assert "Import" in message
    [event] = [e for e in driver.events(iid) if e.type == "error"]
    assert "Import" in event.data["message"]


def test_reading_etc_passwd_never_happens(driver: Driver) -> None:
    iid = _run_script(driver, "passwd = open('/etc/passwd').read()")
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert first_line not in (instance.error_message or "")
    assert "passwd" not in driver.data(iid)


@pytest.mark.parametrize(("condition", "mentions"), [
    ("amount.__class__ is int", "__class__"),
    ("().__class__.__subclasses__()", "__class__"),
    ("open('/etc/passwd') is not None", "open"),
    ("__import__('os') is not None", "__import__"),
])
def test_forbidden_gateway_conditions_put_the_instance_in_error(driver: Driver,
                                                                condition: str,
                                                                mentions: str) -> None:
    iid = _run_condition(driver, condition)
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert mentions in (instance.error_message or "")
    assert driver.open_elements(iid) == []


def test_allowed_condition_routes(driver: Driver) -> None:
    high = _run_condition(driver, "amount > 10 and len(str(amount)) == 2", {"amount": 20})
    low = _run_condition(driver, "amount > 10 and len(str(amount)) == 2", {"amount": 5})
    assert driver.open_elements(high) == ["high_task"]
    assert driver.open_elements(low) == ["low_task"]


def test_allowed_script_sets_variables(driver: Driver) -> None:
    script = "\n".join([
        "level = 'high' if amount > 10 else 'low'",
        "doubled = [a * 2 for a in items]",
        "total = sum(doubled)",
        "summary = {'count': len(items), 'max': max(items)}",
        "deadline = (datetime(2011, 1, 4) + timedelta(days=30)).date().isoformat()",
    ])
    iid = _run_script(driver, script, {"amount": 20, "items": [1, 2, 3]})
    instance = driver.instance(iid)
    assert instance.status == InstanceStatus.WAITING, instance.error_message
    assert driver.open_elements(iid) == ["check"]
    data = driver.data(iid)
    assert data["level"] == "high"
    assert data["doubled"] == [2, 4, 6]
    assert data["total"] == 12
    assert data["summary"] == {"count": 3, "max": 3}
    assert data["deadline"] == "2011-02-03"
    assert "datetime" not in data and "timedelta" not in data  # globals do not leak in
    driver.rt.workflows.clear()  # and the values survive the database
    assert driver.data(iid)["summary"] == {"count": 3, "max": 3}
    driver.complete_element(iid, "check", ADMIN)  # a task in no lane: the administrators'
    assert driver.instance(iid).status == InstanceStatus.COMPLETED


def test_a_failing_instance_does_not_affect_others(driver: Driver) -> None:
    bad = _run_script(driver, "import os")
    good = _run_script(driver, "level = amount * 2")
    assert driver.instance(bad).status == InstanceStatus.ERROR
    assert driver.instance(good).status == InstanceStatus.WAITING
    assert driver.data(good)["level"] == 40
