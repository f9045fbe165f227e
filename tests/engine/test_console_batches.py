"""Batch operations over a filter's result, the heatmap, saved filters and the instance
page's view."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.models import Batch, InstanceStatus
from engine.services import (
    audit,
    batches,
    heatmap,
    instance_admin,
    instance_page,
    instances,
    saved_filters,
)
from engine.services.console_list import InstanceQuery
from tests.conftest import ADMIN
from tests.console_versions import ADDED, deploy_version, with_added_step

from .conftest import DISCOVERY, SIMPLE_CYCLE, Driver, post_attributes
from .test_console_operations import COMMISSION


def _start(d: Driver, unit: str) -> int:
    return d.start(SIMPLE_CYCLE, {**post_attributes(), "unit_code": unit},
                   business_key=f"{unit}-post")


def _run(d: Driver, batch_id: int, max_items: int = 25) -> batches.BatchProgress:
    with d.rt.uow() as uow:
        return batches.run_batch_step(uow, batch_id, ADMIN, max_items=max_items)


def test_batch_suspend_in_steps_with_a_report(post: Driver) -> None:
    czj = [_start(post, "CZJ") for _ in range(3)]
    other = _start(post, "FGW")
    with post.rt.uow() as uow:  # one of them cannot be suspended: it is already
        instance_admin.admin_lifecycle(uow, "suspend", czj[1], ADMIN, "先停")
    with post.rt.uow() as uow:
        batch = batches.create_batch(uow, ADMIN, "suspend", InstanceQuery(unit="CZJ"),
                                      "年度检查")
    assert batch.total == 3
    first = _run(post, batch.id, max_items=2)
    assert (first.done, first.status) == (2, "running")
    second = _run(post, batch.id)
    assert (second.succeeded, second.failed, second.status) == (2, 1, "done")
    assert _run(post, batch.id).done == 3  # nothing is done twice
    with post.rt.uow(write=False) as uow:
        items = {i.instance_id: (i.outcome, i.message)
                 for i in batches.batch_items(uow, batch.id)}
        actions = [e.action for e in audit.list_audit(uow).entries]
    assert items[czj[0]] == ("succeeded", None)
    assert items[czj[1]][0] == "failed" and "suspended" in (items[czj[1]][1] or "")
    assert post.instance(other).status == InstanceStatus.WAITING
    assert actions.count("suspend") == 3 and "batch_suspend" in actions


def test_batch_migration_moves_the_safe_and_reports_the_rest(post: Driver) -> None:
    waiting = [_start(post, "CZJ") for _ in range(2)]
    v2 = deploy_version(post.rt, with_added_step())
    on_v2 = _start(post, "CZJ")  # started on version 2 already: not in the batch
    with post.rt.uow() as uow:
        batch = batches.create_batch(
            uow, ADMIN, "migrate", InstanceQuery(process=SIMPLE_CYCLE, version=1),
            "新增复核", version=v2.version)
    progress = _run(post, batch.id)
    assert (progress.succeeded, progress.failed) == (2, 0)
    for iid in waiting:
        assert post.instance(iid).definition_id == v2.definition_id
    assert post.instance(on_v2).definition_id == v2.definition_id
    post.complete_element(waiting[0], "discovery", ADMIN, DISCOVERY)
    with post.rt.uow(write=False) as uow:
        heat = heatmap.heatmap_of(uow, v2.definition_id)
    assert heat.elements["discovery"].waiting == 2  # one moved on, one new on v2
    assert heat.elements["review"].waiting == 1
    assert heat.elements["discovery"].passed == 1
    assert ADDED not in heat.elements


@pytest.mark.parametrize(("operation", "query", "kwargs", "error"), [
    ("explode", InstanceQuery(), {}, ValidationFailed),
    ("migrate", InstanceQuery(), {"version": 2}, ValidationFailed),   # no process
    ("migrate", InstanceQuery(process=SIMPLE_CYCLE), {"version": 9}, ValidationFailed),
    ("suspend", InstanceQuery(unit="NOPE"), {}, ValidationFailed),   # finds nothing
])
def test_invalid_batches_are_refused_and_nothing_stored(post: Driver, operation: str,
                                                        query: InstanceQuery,
                                                        kwargs: dict[str, int],
                                                        error: type[Exception]) -> None:
    _start(post, "CZJ")
    with post.rt.uow() as uow, pytest.raises(error):
        batches.create_batch(uow, ADMIN, operation, query, "试试", **kwargs)
    with post.rt.uow() as uow, pytest.raises(Forbidden):
        batches.create_batch(uow, COMMISSION, "suspend", InstanceQuery(), "试试")
    with post.rt.uow(write=False) as uow:
        assert uow.session.scalars(select(Batch)).all() == []
        assert audit.list_audit(uow).entries == []


def test_saved_filters_are_per_user(post: Driver) -> None:
    with post.rt.uow() as uow:
        mine = saved_filters.save_filter(uow, "admin", "财政局等待中",
                                    InstanceQuery(unit="CZJ", status="waiting"))
    with post.rt.uow() as uow:
        saved_filters.save_filter(uow, "admin", "财政局等待中", InstanceQuery(unit="CZJ"))
    with post.rt.uow(write=False) as uow:
        [row] = saved_filters.list_filters(uow, "admin")
        assert row.query == {"unit": "CZJ"}
        assert saved_filters.list_filters(uow, "jiwei") == []
        with pytest.raises(NotFound):
            saved_filters.get_filter(uow, "jiwei", mine.id)
    with post.rt.uow() as uow, pytest.raises(ValidationFailed):
        saved_filters.save_filter(uow, "admin", "坏的", InstanceQuery(status="bogus"))
    with post.rt.uow() as uow:
        saved_filters.delete_filter(uow, "admin", mine.id)
    with post.rt.uow(write=False) as uow:
        assert saved_filters.list_filters(uow, "admin") == []


def test_instance_view_draws_path_and_tokens(post: Driver) -> None:
    iid = _start(post, "CZJ")
    post.complete_element(iid, "discovery", ADMIN, DISCOVERY)
    with post.rt.uow(write=False) as uow:
        view = instance_page.instance_view(uow, iid)
    assert view.current == ["review"]
    assert {"start", "discovery", "grading"} <= set(view.done)
    assert [t.element_id for t in view.tokens] == ["review"]
    assert ("correction", "纠正问题") in view.move_targets
    assert view.variables["unit_code"] == "CZJ"
    assert [t.element_id for t in view.tasks] == ["discovery", "review"]
    assert view.tasks[0].completed_by == "admin"


def test_heatmap_counts_timers_and_failures(post: Driver) -> None:
    from datetime import timedelta

    from .conftest import REVIEW

    both = [_start(post, "CZJ"), _start(post, "FGW")]
    for iid in both:
        for step, data in (("discovery", DISCOVERY), ("review", REVIEW)):
            post.complete_element(iid, step, ADMIN, data)
    with post.rt.uow(write=False) as uow:
        definition_id = instances.get_instance(uow, both[0]).definition_id
        waiting = heatmap.heatmap_of(uow, definition_id)
    assert waiting.elements["publicity"].waiting == 2
    post.advance(timedelta(days=8))
    post.fire()
    with post.rt.uow(write=False) as uow:
        heat = heatmap.heatmap_of(uow, definition_id)
    assert (heat.elements["publicity"].waiting, heat.elements["publicity"].passed) == (0, 2)
    assert heat.elements["prevention"].waiting == 2
    assert heat.elements["review"].passed == 2 and heat.instances == 2
    post.deploy_fixture("script_error.bpmn")
    failed = post.start("script_error", {"total": 1, "count": 0})
    with post.rt.uow(write=False) as uow:
        broken = heatmap.heatmap_of(uow, instances.get_instance(uow, failed).definition_id)
    assert broken.elements["compute_ratio"].failed == 1
