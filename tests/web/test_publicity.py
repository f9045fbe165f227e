"""The public publicity pages (web/publicity): what anyone sees during 公示, and public
feedback (群众提) — validated, honeypot, rate-limited per address, stored, delivered as
``public_suggestion`` to the post's waiting cycle (the discipline officer's task), or kept
for the officer when no cycle waits for it. The REST API's feedback goes through the same
service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import HumanTask, Notification, TaskState
from engine.programme.models import Feedback
from engine.programme.services import feedback
from engine.services import timers
from engine.settings import Settings
from tests.databases import Template, TestDatabases, world

from .conftest import T0, AuthActions, Org, csrf_token, make_app
from .publicity_cycle import YEAR, deploy_programme, to_publicity

LEVEL3, LEVEL1, UNPUBLISHED = "CZJ-BGS-02", "CZJ-BGS-03", "CZJ-BGS-01"
OFFICER, OTHER_OFFICER, STAFF, CITY = "czj-0004", "fgw-0004", "czj-0011", "jiwei"
UNIT_PAGE = f"/publicity/CZJ/{YEAR}"
ADDRESS = "203.0.113.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings, IRPM_FEEDBACK_LIMIT=3, IRPM_FEEDBACK_WINDOW=600)
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.extensions["irpm_feedback_limiter"].clock = clock
    return clock


def seed_published(settings: Settings) -> dict[str, int]:
    app = make_app(settings, IRPM_FEEDBACK_LIMIT=3, IRPM_FEEDBACK_WINDOW=600)
    rt = app.extensions["irpm"]
    try:
        deploy_programme(rt)
        return {LEVEL3: to_publicity(rt, LEVEL3),
                LEVEL1: to_publicity(rt, LEVEL1, high_risk=True)}
    finally:
        rt.close()


@world
def published_world(test_databases: TestDatabases, inbox_org_world: Template) -> Template:
    """The organisation with bpmn/ deployed and two of CZJ's posts taken to publicity by
    this module's app, built once for its tests; ``seeded``: post → instance id."""
    return test_databases.build("published", seed_published, inbox_org_world)


@pytest.fixture
def published(app: Flask, org: Org, published_world: Template) -> dict[str, int]:
    """CZJ's 办公室: 科员（文秘） at level 3 and 科员（档案管理） at level 1 (a high risk), both
    in publicity; 办公室主任 not yet published."""
    return dict(published_world.seeded)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def send(client: FlaskClient, post: str, address: str = ADDRESS, **form: str) -> object:
    return client.post(f"{UNIT_PAGE}/{post}", data=form, environ_base={"REMOTE_ADDR": address})


def feedback_rows(org: Org) -> list[Feedback]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Feedback).order_by(Feedback.id)))


def suggestions(org: Org, instance_id: int) -> list[object]:
    return [e.data["payload"] for e in org.events(instance_id) if e.type == "message_received"]


# ------------------------------------------------------------------------- the pages


def test_anyone_sees_the_units_in_publicity_and_their_published_posts(
        client: FlaskClient, published: dict[str, int]) -> None:
    index = page(client, "/publicity/")
    assert re.search(r'data-unit="CZJ"', index) and "财政局" in index
    assert 'data-unit="FGW"' not in index  # nothing of it is in publicity
    assert "2 个岗位公示中" in index

    html = page(client, UNIT_PAGE)
    assert "财政局 2011 年度岗位廉政风险等级公示" in html
    rows = dict(re.findall(r'<tr data-post="([^"]+)">(.*?)</tr>', html, re.S))
    assert sorted(rows) == [LEVEL3, LEVEL1]  # the unpublished post is not shown
    level3, level1 = rows[LEVEL3], rows[LEVEL1]
    assert 'data-level="3"' in level3 and "三级" in level3
    assert 'data-level="1"' in level1 and "一级" in level1
    # Leaders by name and role, never by login: level 1 — 主要领导 responsible, 分管领导
    # manages; level 3 — the department head does both.
    assert re.search(r'data-role="responsible">高春勇\s*<span[^>]*>单位主要领导', level1)
    assert re.search(r'data-role="direct-manager">张学勇\s*<span[^>]*>分管领导', level1)
    assert re.search(r'data-role="responsible">孟涛\s*<span[^>]*>内设机构领导', level3)
    assert "公示中" in level3
    assert not re.search(r"czj-\d{4}", html, re.I)
    assert "科员（文秘）" in html and "办公室" in html


def test_the_publicity_pages_need_no_sign_in_and_link_from_the_navigation(
        client: FlaskClient, published: dict[str, int]) -> None:
    html = page(client, f"{UNIT_PAGE}/{LEVEL3}")
    assert 'id="feedback-form"' in html and 'name="website"' in html
    assert 'class="hp-field" aria-hidden="true"' in html
    assert 'data-nav="publicity.index"' in html  # the public entry of the navigation
    assert 'data-nav="inbox.tasks:mine"' not in html


def test_unknown_units_posts_and_unpublished_posts_are_not_found(
        client: FlaskClient, published: dict[str, int]) -> None:
    assert client.get("/publicity/XX/2011").status_code == 404
    assert client.get(f"{UNIT_PAGE}/{UNPUBLISHED}").status_code == 404
    assert client.get(f"{UNIT_PAGE}/FGW-BGS-02").status_code == 404  # another unit's post
    assert "尚未公示" in page(client, "/publicity/CZJ/2010")


def test_nothing_in_publicity(client: FlaskClient, org: Org) -> None:
    for url in ("/publicity", "/publicity/"):  # both, for anonymous visitors
        assert "目前没有单位处于公示期" in page(client, url)


# ---------------------------------------------------------------------- the feedback


def test_feedback_is_stored_and_reaches_the_discipline_officers_inbox(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org, clock: Clock,
        published: dict[str, int]) -> None:
    response = send(client, LEVEL3, text="  办文拖延，收受礼品  ", contact="138-0000-0000")
    assert response.status_code == 302
    assert response.headers["Location"] == UNIT_PAGE
    assert "您的意见已收到，将由本单位纪检监察员审核" in page(client, UNIT_PAGE)

    [row] = feedback_rows(org)
    assert (row.post_code, row.unit_code, row.year) == (LEVEL3, "CZJ", YEAR)
    assert (row.text, row.contact) == ("办文拖延，收受礼品", "138-0000-0000")
    assert row.instance_id == published[LEVEL3] and row.created_at == T0
    assert row.address_hash == feedback.hash_address(ADDRESS, app.secret_key or "")
    assert ADDRESS not in (row.address_hash or "") and len(row.address_hash or "") == 64
    assert suggestions(org, published[LEVEL3]) == [
        {"text": "办文拖延，收受礼品", "contact": "138-0000-0000"}]

    auth.login(OFFICER)  # the unit's discipline officer reviews it (审核群众意见)
    claimable = page(client, "/inbox/claimable")
    assert "审核群众意见" in claimable
    with org.rt.uow(write=False) as uow:
        notes = list(uow.session.scalars(select(Notification).where(
            Notification.recipient == OFFICER, Notification.subject == "审核群众意见")))
    assert len(notes) == 1 and notes[0].kind == "task"
    assert "审核群众意见" in page(client, "/notifications/")


def test_invalid_feedback_is_shown_again_with_what_was_typed(
        client: FlaskClient, org: Org, clock: Clock, published: dict[str, int]) -> None:
    for form, problem in (({"text": "   ", "contact": "我的电话"}, "请填写您的意见"),
                          ({"text": "长" * 1001}, "最多 1000 个字"),
                          ({"text": "意见", "contact": "x" * 201}, "最多 200 个字")):
        clock.now += 1000  # each try in its own window: only validation is under test
        response = send(client, LEVEL3, **form)
        assert response.status_code == 400, form
        html = response.get_data(as_text=True)
        assert problem in html and "is-invalid" in html
        if form.get("contact") == "我的电话":
            assert 'value="我的电话"' in html
    response = send(client, LEVEL3, text="长" * 1000)  # exactly the limit is fine
    assert response.status_code == 302
    assert [len(r.text) for r in feedback_rows(org)] == [1000]


def test_the_honeypot_is_thanked_but_dropped(client: FlaskClient, org: Org, clock: Clock,
                                             published: dict[str, int]) -> None:
    response = send(client, LEVEL3, text="buy cheap watches", website="http://spam.example")
    assert response.status_code == 302 and response.headers["Location"] == UNIT_PAGE
    assert "您的意见已收到" in page(client, UNIT_PAGE)
    assert feedback_rows(org) == []
    assert suggestions(org, published[LEVEL3]) == []


def test_feedback_is_rate_limited_per_address(client: FlaskClient, org: Org, clock: Clock,
                                              published: dict[str, int]) -> None:
    assert [send(client, LEVEL3, text=f"意见{i}").status_code for i in range(2)] == [302, 302]
    assert send(client, LEVEL3, text="").status_code == 400  # invalid ones count too
    refused = send(client, LEVEL3, text="第四条")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "600"
    assert "提交的意见过多，请 10 分钟后再试" in refused.get_data(as_text=True)
    assert send(client, LEVEL3, "198.51.100.9", text="另一个地址").status_code == 302
    clock.now += 599
    assert send(client, LEVEL3, text="还是太快").status_code == 429
    clock.now += 2  # the first ones have left the window
    assert send(client, LEVEL3, text="可以了").status_code == 302
    assert [r.text for r in feedback_rows(org)] == ["意见0", "意见1", "另一个地址", "可以了"]


def test_feedback_needs_its_csrf_token(settings: Settings, org: Org,
                                       published: dict[str, int]) -> None:
    app = make_app(settings, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        url = f"{UNIT_PAGE}/{LEVEL3}"
        assert client.post(url, data={"text": "无令牌"}).status_code == 400
        token = csrf_token(page(client, url))
        assert client.post(url, data={"text": "有令牌", "csrf_token": token}).status_code == 302
        assert [r.text for r in feedback_rows(org)] == ["有令牌"]
    finally:
        app.extensions["irpm"].close()


def test_feedback_no_cycle_takes_is_kept_for_the_discipline_officer(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org, clock: Clock,
        published: dict[str, int]) -> None:
    with org.rt.uow() as uow:  # publicity is over: the cycle takes no more suggestions
        timers.advance_to(uow, T0 + timedelta(days=8))
    assert "目前没有单位处于公示期" in page(client, "/publicity/")
    assert "公示中" not in page(client, UNIT_PAGE)  # the levels stay published

    response = send(client, LEVEL3, text="公示期后才看到，反映一个问题", contact="王先生")
    assert response.status_code == 302
    assert "您的意见已收到，我们将认真处理" in page(client, UNIT_PAGE)
    [row] = feedback_rows(org)
    assert row.instance_id is None and row.pending and row.year == YEAR
    assert suggestions(org, published[LEVEL3]) == []

    auth.login(OFFICER)
    notes = page(client, "/notifications/")
    assert 'data-kind="feedback"' in notes and "公示期后才看到" in notes
    listing = page(client, "/publicity/feedback")
    assert f'data-feedback="{row.id}"' in listing and "王先生" in listing
    assert 'data-status="pending"' in listing
    response = client.post(f"/publicity/feedback/{row.id}/handled",
                           data={"note": "已电话联系核实"})
    assert response.status_code == 302
    assert "群众意见已标为已处理" in page(client, "/publicity/feedback")
    assert f'data-feedback="{row.id}"' not in page(client, "/publicity/feedback")
    everything = page(client, "/publicity/feedback?show=all")
    assert 'data-status="handled"' in everything and "已电话联系核实" in everything
    assert 'data-kind="feedback" data-unread="false"' in page(client, "/notifications/")
    [row] = feedback_rows(org)
    assert (row.handled_by, row.handling_note) == (OFFICER, "已电话联系核实")


def test_feedback_lists_are_for_discipline_officers_of_the_unit(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org, clock: Clock,
        published: dict[str, int]) -> None:
    with org.rt.uow() as uow:
        timers.advance_to(uow, T0 + timedelta(days=8))
    send(client, LEVEL3, text="意见")
    [row] = feedback_rows(org)

    auth.login(STAFF)
    assert client.get("/publicity/feedback").status_code == 403
    auth.logout()
    auth.login(OTHER_OFFICER)  # 发改委's officer: not 财政局's feedback
    assert f'data-feedback="{row.id}"' not in page(client, "/publicity/feedback")
    assert client.post(f"/publicity/feedback/{row.id}/handled").status_code == 404
    auth.logout()
    auth.login(CITY)  # the city's discipline commission sees every unit's
    assert f'data-feedback="{row.id}"' in page(client, "/publicity/feedback")
    auth.logout()
    assert client.get("/publicity/feedback").status_code == 302  # sign in first


def test_the_api_feedback_goes_through_the_same_service(
        client: FlaskClient, org: Org, published: dict[str, int]) -> None:
    app_limiter = client.application.extensions["irpm_api"]["feedback_limiter"]
    app_limiter.clock = Clock()
    response = client.post("/api/v1/feedback", json={"post": LEVEL1, "text": "API 意见"},
                           environ_base={"REMOTE_ADDR": ADDRESS})
    assert response.status_code == 202, response.get_json()
    [row] = feedback_rows(org)
    assert (row.post_code, row.text, row.instance_id) == (LEVEL1, "API 意见", published[LEVEL1])
    assert row.address_hash == feedback.hash_address(ADDRESS, client.application.secret_key
                                                     or "")


def test_a_lost_race_is_tried_again_and_a_busy_cycle_never_loses_feedback(
        org: Org, published: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.errors import ConcurrentUpdate
    from engine.programme.services import feedback

    real, calls = feedback.send_message, []

    def racing(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 1:
            raise ConcurrentUpdate("another request changed the instance")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feedback, "send_message", racing)
    with org.rt.uow() as uow:
        receipt = feedback.submit_feedback(uow, LEVEL3, "第二次才送达", year=YEAR)
    assert receipt.delivered and len(calls) == 2
    assert suggestions(org, published[LEVEL3]) == [{"text": "第二次才送达"}]

    def busy(*args: object, **kwargs: object) -> object:
        raise ConcurrentUpdate("always busy")

    monkeypatch.setattr(feedback, "send_message", busy)
    with org.rt.uow() as uow:
        receipt = feedback.submit_feedback(uow, LEVEL3, "一直很忙", year=YEAR)
    assert not receipt.delivered
    assert [(r.text, r.instance_id is None) for r in feedback_rows(org)] == [
        ("第二次才送达", False), ("一直很忙", True)]
    with org.rt.uow() as uow, pytest.raises(ConcurrentUpdate):
        feedback.submit_feedback(uow, LEVEL3, "API 不保留", keep_undelivered=False)
    assert len(feedback_rows(org)) == 2


def _open_elements(org: Org, instance_id: int) -> set[str]:
    with org.rt.uow(write=False) as uow:
        return set(uow.session.scalars(select(HumanTask.element_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN)))


def test_the_officer_takes_feedback_as_an_objection_and_the_level_goes_back_to_review(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org, clock: Clock,
        published: dict[str, int]) -> None:
    cycle = published[LEVEL3]
    send(client, LEVEL3, text="该岗位经手大量资金，等级定低了", contact="李女士")
    [row] = feedback_rows(org)
    assert row.instance_id == cycle and "review" not in _open_elements(org, cycle)

    auth.login(OTHER_OFFICER)  # another unit's officer: not even told it exists
    assert client.post(f"/publicity/feedback/{row.id}/reopen").status_code == 404
    auth.logout()
    auth.login(STAFF)
    assert client.post(f"/publicity/feedback/{row.id}/reopen").status_code == 404
    assert "review" not in _open_elements(org, cycle)
    auth.logout()

    auth.login(OFFICER)
    assert 'data-action="reopen"' in page(client, "/publicity/feedback?show=all")
    response = client.post(f"/publicity/feedback/{row.id}/reopen",
                           data={"note": "资金量大，应重新审核"})
    assert response.status_code == 302
    assert "岗位风险等级已退回审核" in page(client, "/publicity/feedback?show=all")
    received = [e.data for e in org.events(cycle) if e.type == "message_received"]
    assert received[-1] == {"name": "publicity_objection", "payload": {
        "text": "该岗位经手大量资金，等级定低了", "contact": "李女士", "feedback_id": row.id,
        "note": "资金量大，应重新审核"}}
    assert "review" in _open_elements(org, cycle)  # 严格审核把关 again, then publicity again

    again = client.post(f"/publicity/feedback/{row.id}/reopen", data={"note": "再次"})
    assert again.status_code == 302  # no longer in publicity: refused, nothing changes
    assert "公示期" in page(client, "/publicity/feedback?show=all")
    assert len([e for e in org.events(cycle) if e.type == "message_received"]) == len(received)


def test_an_objection_after_publicity_is_refused_and_the_feedback_stays_pending(
        app: Flask, client: FlaskClient, auth: AuthActions, org: Org, clock: Clock,
        published: dict[str, int]) -> None:
    with org.rt.uow() as uow:
        timers.advance_to(uow, T0 + timedelta(days=8))
    send(client, LEVEL3, text="公示结束后才反映")
    [row] = feedback_rows(org)
    assert row.pending
    auth.login(OFFICER)
    response = client.post(f"/publicity/feedback/{row.id}/reopen", data={"note": "想重新审核"})
    assert response.status_code == 302
    assert "公示期" in page(client, "/publicity/feedback")
    [after] = feedback_rows(org)
    assert after.pending and after.handled_at is None and after.handling_note is None
    assert [e for e in org.events(published[LEVEL3]) if e.type == "message_received"] == []
