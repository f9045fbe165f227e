"""Scheduler fixtures: short real-clock timer processes, schedulers that are always stopped,
and polling the database with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pytest

from engine.models import InstanceEvent
from engine.runtime import Runtime
from engine.services import instances
from scheduler import SchedulerService, SchedulerSettings
from tests.conftest import deploy_text

T = TypeVar("T")

#: start → wait (a timer whose duration is the start data's ``wait``) → after_wait → end;
#: the user tasks here and in ``CYCLE`` are staff's (lane ``staff``).
WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_short_wait"
    targetNamespace="urn:irpm:test">
  <bpmn:process id="short_wait" name="Short wait" isExecutable="true">
    <bpmn:laneSet id="laneset_short_wait">
      <bpmn:lane id="staff" name="Staff">
        <bpmn:flowNodeRef>after_wait</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">wait</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after_wait" name="After the wait">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after_wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after_wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

#: A user task ``work`` with a non-interrupting cycle timer (the start data's ``cycle``, e.g.
#: R3/PT1S) that opens a ``reminder`` task each period.
CYCLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_short_cycle"
    targetNamespace="urn:irpm:test">
  <bpmn:process id="short_cycle" name="Short cycle" isExecutable="true">
    <bpmn:laneSet id="laneset_short_cycle">
      <bpmn:lane id="staff" name="Staff">
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>reminder</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="Work">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="every" name="Every period" attachedToRef="work"
        cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="every_timer">
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">cycle</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="reminder" name="Reminder">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="reminder_end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="every" targetRef="reminder"/>
    <bpmn:sequenceFlow id="f4" sourceRef="reminder" targetRef="reminder_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

#: Scheduler settings for tests: no periodic jobs unless asked, a quick standby.
QUICK = SchedulerSettings(sweep_seconds=30, standby_poll_seconds=0.2, retry_seconds=1,
                          cards_every_seconds=0, mail_every_seconds=0, jobs_every_seconds=0)
#: "Within a second of its due time", as the issue asks.
ON_TIME = 1.0


def wait_until(probe: Callable[[], T], timeout: float, what: str,
               interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def deploy_short(rt: Runtime) -> None:
    deploy_text(rt, "short_wait.bpmn", WAIT)
    deploy_text(rt, "short_cycle.bpmn", CYCLE)


def start(rt: Runtime, process_id: str, **data: Any) -> int:
    with rt.uow() as uow:
        return instances.start_instance(uow, process_id, None, data).id


def firings(rt: Runtime, instance_id: int) -> list[InstanceEvent]:
    with rt.uow(write=False) as uow:
        return [e for e in instances.instance_events(uow, instance_id)
                if e.type == "timer_fired"]


def lateness(event: InstanceEvent) -> float:
    """Seconds between a timer's due time and its firing (the event's time)."""
    due = datetime.fromisoformat(event.data["due_at"])
    return (event.at - due).total_seconds()


@dataclass
class Schedulers:
    """Starts scheduler services and stops every one of them at the end of the test."""

    started: list[SchedulerService]

    def start(self, rt: Runtime, settings: SchedulerSettings = QUICK,
              lead: bool = True) -> SchedulerService:
        service = SchedulerService(rt, settings).start()
        self.started.append(service)
        if lead:
            assert service.wait_leading(10), "the scheduler did not take the lead"
        return service


@pytest.fixture
def schedulers() -> Iterator[Schedulers]:
    found = Schedulers([])
    yield found
    for service in found.started:
        service.stop(10)


from .processes import processes  # noqa: E402, F401  (a fixture for the process tests)
