"""The console's instance page at Cockpit level (issue 16, point 6): event details in real
characters as key / value lines with times in the page's zone (Beijing), element names
beside ids, task links, a variable diff for each completed step, the heatmap by name."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import Any

from flask.testing import FlaskClient

from engine.models import EventType, InstanceEvent
from engine.programme.services import organisation
from engine.services import deployment, instance_admin, tasks
from engine.services.instance_page import StepChange, step_changes
from tests.inbox_org import CHINA

from .conftest import AuthActions, Org


def _complete(org: Org, task_id: uuid.UUID, data: dict[str, Any]) -> None:
    with org.rt.uow() as uow:
        tasks.complete_task(uow, task_id, organisation.actor_for(uow, "admin"), data)


def _event_row(page: str, event_id: int) -> str:
    """The event log's row of one event, up to the next event's row."""
    start = page.index(f'data-event-id="{event_id}"')
    ends = [i for i in (page.find("<tr data-event=", start), page.find("</table>\n      </div>",
                                                                       start)) if i > 0]
    return page[start:min(ends)]


def test_details_are_decoded_localised_and_linked(org: Org, client: FlaskClient,
                                                  auth: AuthActions) -> None:
    iid = org.start("CZJ-BGS-02")
    task = org.open_task(iid)
    assert task.due_at is not None
    _complete(org, task.id, {"opinion": "同意，无异议", "score": 3})
    auth.login("admin")
    page = client.get(f"/console/instances/{iid}").text
    assert "同意，无异议" in page and "\\u" not in page
    assert 'data-kind="text">—<' in page and 'data-kind="text">[]<' not in page  # no users
    # the due time the task_created event recorded, in Beijing time as the page's other times
    due_utc = task.due_at.astimezone(UTC)
    beijing = task.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    assert due_utc.hour != task.due_at.astimezone(CHINA).hour
    assert f'data-kind="time">{beijing}<' in page
    assert due_utc.strftime("%Y-%m-%dT%H:%M") not in page  # not the raw UTC ISO string
    # element names with the id as secondary, task links on task events
    assert "查找廉政风险 <span" in page and "(discovery)" in page
    assert f'data-event-task="{task.id}"' in page
    review = org.open_task(iid)
    assert f'data-task-link="{review.id}"' in page and f'href="/tasks/{review.id}"' in page


def test_each_step_shows_what_it_changed(org: Org, client: FlaskClient,
                                         auth: AuthActions) -> None:
    iid = org.start("CZJ-BGS-02")
    _complete(org, org.open_task(iid).id, {"opinion": "初稿", "score": 1})
    _complete(org, org.open_task(iid).id, {"opinion": "初稿", "score": 2, "verdict": "通过"})
    auth.login("admin")
    page = client.get(f"/console/instances/{iid}").text
    with org.rt.uow(write=False) as uow:
        first, second = [e.id for e in uow.session.query(InstanceEvent).filter_by(
            instance_id=iid, type=EventType.TASK_COMPLETED.value).order_by(InstanceEvent.id)]
    row = _event_row(page, second)
    assert 'data-changed="score"' in row and 'data-changed="verdict"' in row
    assert 'data-changed="opinion"' not in row  # unchanged: not part of the diff
    assert re.search(r'data-changed="score".*?diff-before">1<.*?diff-after">2<', row, re.S)
    assert re.search(r'data-changed="verdict".*?diff-unknown[^>]*>[^<]+<', row, re.S)
    assert "初稿" in _event_row(page, first) and 'data-changed="opinion"' in _event_row(page, first)


def test_an_unrecorded_before_is_said_not_guessed(org: Org) -> None:
    """An administrator's change records names only: the next step's before is unknown."""
    iid = org.start("CZJ-BGS-02")
    _complete(org, org.open_task(iid).id, {"score": 1})
    with org.rt.uow() as uow:
        instance_admin.set_variables(uow, iid, organisation.actor_for(uow, "admin"),
                                     {"score": 5}, "更正")
    _complete(org, org.open_task(iid).id, {"score": 6})
    with org.rt.uow(write=False) as uow:
        events = list(uow.session.query(InstanceEvent).filter_by(instance_id=iid)
                      .order_by(InstanceEvent.id))
    changes = step_changes(events)
    done = [e.id for e in events if e.type == EventType.TASK_COMPLETED.value]
    assert changes[done[0]] == [StepChange("score", None, 1, False)]
    assert changes[done[1]] == [StepChange("score", None, 6, False)]
    started = next(e for e in events if e.type == EventType.STARTED.value)
    assert started.id not in changes


def test_the_start_data_is_the_first_before(org: Org) -> None:
    iid = org.start("CZJ-BGS-02")
    _complete(org, org.open_task(iid).id, {"unit_code": "CZJ", "post_code": "CZJ-BGS-01"})
    with org.rt.uow(write=False) as uow:
        events = list(uow.session.query(InstanceEvent).filter_by(instance_id=iid)
                      .order_by(InstanceEvent.id))
    [done] = [e.id for e in events if e.type == EventType.TASK_COMPLETED.value]
    assert step_changes(events)[done] == [StepChange("post_code", "CZJ-BGS-02", "CZJ-BGS-01",
                                                     True)]


def test_heatmap_lists_elements_by_name(org: Org, client: FlaskClient,
                                        auth: AuthActions) -> None:
    iid = org.start("CZJ-BGS-02")
    org.start("CZJ-YSK-02")
    org.complete(org.open_task(iid).id, "admin")
    with org.rt.uow(write=False) as uow:
        definition = deployment.find_definition(uow, "inbox_cycle", 1)
    auth.login("jiwei")
    page = client.get(f"/console/heatmap?definition={definition.id}").text
    rows = re.findall(r'<tr data-element="(\w+)"><td class="small">([^<]+?) <span', page)
    assert rows == [("discovery", "查找廉政风险"), ("review", "严格审核把关")]
    assert 'data-zoom="fit"' in page
