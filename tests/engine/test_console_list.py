"""The console's instance list: each filter, the keyset pages, and refused queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationFailed
from engine.services import console_list, instance_admin, variable_index
from engine.services.console_list import InstanceQuery
from tests.conftest import ADMIN

from .conftest import DISCOVERY, SIMPLE_CYCLE, T0, Driver, post_attributes


def _start(d: Driver, unit: str, key: str, **extra: object) -> int:
    return d.start(SIMPLE_CYCLE, {**post_attributes(), "unit_code": unit, **extra},
                   business_key=key)


def _ids(d: Driver, **query: object) -> list[int]:
    with d.rt.uow(write=False) as uow:
        return [r.id for r in console_list.list_console_instances(uow, InstanceQuery(**query)).rows]


@pytest.fixture
def three(post: Driver) -> tuple[Driver, list[int]]:
    a = _start(post, "CZJ", "CZJ-BGS-01", year=2011)
    post.advance(timedelta(hours=1))
    b = _start(post, "CZJ", "CZJ-YSK-02", year=2012)
    post.advance(timedelta(hours=1))
    c = _start(post, "FGW", "FGW-BGS-01", year=2011)
    post.complete_element(b, "discovery", ADMIN, DISCOVERY)
    with post.rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "suspend", c, ADMIN, "核查")
    return post, [a, b, c]


def test_filters(three: tuple[Driver, list[int]]) -> None:
    d, (a, b, c) = three
    assert _ids(d) == [c, b, a]  # latest update first
    assert _ids(d, unit="CZJ") == [b, a]
    assert _ids(d, unit="CZJ", status="waiting") == [b, a]
    assert _ids(d, status="suspended") == [c]
    assert _ids(d, business_key="CZJ-") == [b, a]
    assert _ids(d, business_key="CZJ-YSK-02") == [b]
    assert _ids(d, step="review") == [b]
    assert _ids(d, step="discovery") == [c, a]
    assert _ids(d, var_name="year", var_value="2012") == [b]
    assert _ids(d, var_name="year", var_value="2011") == [c, a]
    assert _ids(d, process=SIMPLE_CYCLE, version=1) == [c, b, a]
    assert _ids(d, process=SIMPLE_CYCLE, version=2) == []
    assert _ids(d, started_from=T0 + timedelta(minutes=30)) == [c, b]
    assert _ids(d, started_to=T0 + timedelta(minutes=30)) == [a]
    assert _ids(d, sort="started", descending=False) == [a, b, c]
    assert _ids(d, overdue=True) == []
    d.advance(timedelta(days=31))  # discovery and review are due within 30 days
    assert _ids(d, overdue=True) == [c, b, a]


def test_rows_carry_unit_steps_and_version(three: tuple[Driver, list[int]]) -> None:
    d, (a, b, _c) = three
    with d.rt.uow(write=False) as uow:
        rows = {r.id: r for r in console_list.list_console_instances(uow, InstanceQuery()).rows}
    assert (rows[a].unit, rows[a].version, [s for s, _n in rows[a].steps]) == \
        ("CZJ", 1, ["discovery"])
    assert [s for s, _n in rows[b].steps] == ["review"]


def test_keyset_pages_cover_everything_once(post: Driver) -> None:
    started = [_start(post, "CZJ", f"K-{n:02}") for n in range(30)]
    seen: list[int] = []
    after = None
    with post.rt.uow(write=False) as uow:
        while True:
            page = console_list.list_console_instances(uow, InstanceQuery(limit=25, after=after,
                                                                      sort="started"))
            seen += [r.id for r in page.rows]
            assert page.total == 30
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == sorted(started, reverse=True)


@pytest.mark.parametrize(("query", "field"), [
    ({"status": "sleeping"}, "status"),
    ({"version": 2}, "version"),
    ({"sort": "name"}, "sort"),
    ({"limit": 7}, "limit"),
    ({"var_value": "x"}, "var_name"),
    ({"after": "garbage"}, "after"),
    ({"started_from": T0, "started_to": T0 - timedelta(days=1)}, "started_from"),
])
def test_invalid_queries_are_refused_with_the_field(post: Driver, query: dict[str, object],
                                                    field: str) -> None:
    with post.rt.uow(write=False) as uow, pytest.raises(ValidationFailed) as refused:
        console_list.list_console_instances(uow, InstanceQuery(**query))  # type: ignore[arg-type]
    assert field in refused.value.errors


def test_query_round_trips_through_params() -> None:
    query = InstanceQuery(unit="CZJ", status="waiting", started_from=T0, overdue=True)
    assert InstanceQuery.from_params(query.as_params()) == query
    assert query.as_params() == {"unit": "CZJ", "status": "waiting", "overdue": True,
                                 "started_from": T0.isoformat()}


def test_step_choices_are_the_human_steps_of_the_process(post: Driver) -> None:
    with post.rt.uow(write=False) as uow:
        choices = dict(console_list.step_choices(uow, SIMPLE_CYCLE))
        assert console_list.step_choices(uow, "no_such_process") == []
    assert choices["discovery"] == "查找廉政风险" and "review" in choices
    assert "grading" not in choices and "control_join" not in choices  # not human steps


def test_reindex_rebuilds_the_variable_mirror(post: Driver) -> None:
    from sqlalchemy import delete

    from engine.models import InstanceVariable

    ids = [_start(post, unit, f"K-{unit}") for unit in ("CZJ", "FGW", "CZJ")]
    with post.rt.uow() as uow:  # as if the instances predated migration 0012
        uow.session.execute(delete(InstanceVariable))
        uow.commit()
    assert _ids(post, unit="CZJ") == []
    with post.rt.uow() as uow:
        assert variable_index.reindex_variables(uow, after_id=0, limit=2) == (2, ids[1])
    assert _ids(post, unit="CZJ") == [ids[0]]
    with post.rt.uow() as uow:
        assert variable_index.reindex_variables(uow, after_id=ids[1], limit=2) == (1, ids[2])
    with post.rt.uow() as uow:
        assert variable_index.reindex_variables(uow, after_id=ids[2]) == (0, None)
    assert _ids(post, unit="CZJ") == [ids[2], ids[0]]
