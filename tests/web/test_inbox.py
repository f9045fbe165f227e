"""The inbox pages (web/inbox) and the task page's authorization (web/tasks): who sees which
task, claim / unclaim / delegate through the forms, columns, cards, filters, sorting, search,
paging, 已办 and 我参与的."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine.settings import Settings
from tests.databases import Template, TestDatabases, world
from tests.inbox_org import open_org

from .conftest import T0, AuthActions, Org, make_app

HOLDER, COLLEAGUE, OTHER_DEPT, OTHER_UNIT = "czj-0011", "czj-0012", "czj-0021", "fgw-0011"
HEAD, DEPUTY, PRINCIPAL, OFFICER = "czj-0009", "czj-0002", "czj-0001", "czj-0004"
HOLDER_POST = "CZJ-BGS-02"  # 办公室 科员（文秘）, held by czj-0011


def task_ids(client: FlaskClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return re.findall(r'<tr data-task="([0-9a-f-]+)"', response.get_data(as_text=True))


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def seed_task(settings: Settings) -> uuid.UUID:
    org = open_org(settings)
    try:
        return org.open_task(org.start(HOLDER_POST)).id
    finally:
        org.rt.close()


@world
def holder_task_world(test_databases: TestDatabases, inbox_org_world: Template) -> Template:
    """The organisation with the holder's inbox cycle started, once for this module;
    ``seeded`` is its open task's id."""
    return test_databases.build("holder_task", seed_task, inbox_org_world)


@pytest.fixture
def task(org: Org, holder_task_world: Template) -> uuid.UUID:
    """The holder's open task (查找廉政风险, due in 10 days), unclaimed."""
    return holder_task_world.seeded


def test_the_holder_sees_their_post_task_to_claim_and_nobody_else_does(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    auth.login(HOLDER)
    assert task_ids(client, "/inbox/claimable") == [str(task)]
    assert task_ids(client, "/inbox/mine") == []
    for other in (COLLEAGUE, OTHER_DEPT, OTHER_UNIT, HEAD, PRINCIPAL):
        as_user(auth, other)
        for view in ("mine", "claimable", "done"):
            assert str(task) not in task_ids(client, f"/inbox/{view}"), (other, view)


def test_claim_moves_the_task_to_my_tasks_and_counts_follow(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    auth.login(HOLDER)
    page = client.get("/inbox/mine").get_data(as_text=True)
    assert re.search(r'data-count="claimable">\s*1\s*<', page)
    assert 'data-count="mine"' not in page

    response = client.post(f"/inbox/tasks/{task}/claim", data={"next": "/inbox/claimable?"})
    assert response.headers["Location"].rstrip("?") == "/inbox/claimable"
    assert "已认领" in client.get("/inbox/claimable").get_data(as_text=True)
    assert org.task(task).assignee == HOLDER
    assert task_ids(client, "/inbox/mine") == [str(task)]
    assert task_ids(client, "/inbox/claimable") == []
    page = client.get("/inbox/mine").get_data(as_text=True)
    assert re.search(r'data-count="mine">\s*1\s*<', page)

    as_user(auth, COLLEAGUE)  # a claimed task never shows up in someone else's inbox
    assert task_ids(client, "/inbox/mine") == task_ids(client, "/inbox/claimable") == []


def test_claim_is_refused_to_a_non_candidate_and_a_second_claimant(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    auth.login(COLLEAGUE)
    client.post(f"/inbox/tasks/{task}/claim")
    assert "您无权执行此操作" in client.get("/inbox/mine").get_data(as_text=True)
    assert org.task(task).assignee is None

    org.claim(task, HOLDER)
    as_user(auth, HOLDER)
    client.post(f"/inbox/tasks/{task}/claim")  # claiming one's own task again is harmless
    assert org.task(task).assignee == HOLDER
    as_user(auth, "admin")
    client.post(f"/inbox/tasks/{task}/claim")
    assert "已被他人认领" in client.get("/inbox/mine").get_data(as_text=True)
    assert org.task(task).assignee == HOLDER


def test_only_the_assignee_releases_a_task(client: FlaskClient, auth: AuthActions, org: Org,
                                           task: uuid.UUID) -> None:
    org.claim(task, HOLDER)
    auth.login(COLLEAGUE)
    client.post(f"/inbox/tasks/{task}/unclaim")
    assert org.task(task).assignee == HOLDER
    as_user(auth, HOLDER)
    client.post(f"/inbox/tasks/{task}/unclaim")
    assert org.task(task).assignee is None
    assert "已退回" in client.get("/inbox/claimable").get_data(as_text=True)
    assert [e.type for e in org.events(org.task(task).instance_id)][-2:] == [
        "task_claimed", "task_unclaimed"]


def test_unknown_tasks_and_bad_ids(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    auth.login(HOLDER)
    client.post(f"/inbox/tasks/{uuid.uuid4()}/claim")
    assert "不存在" in client.get("/inbox/mine").get_data(as_text=True)
    assert client.post("/inbox/tasks/not-a-uuid/claim").status_code == 404
    assert client.get("/tasks/not-a-uuid").status_code == 404


# ------------------------------------------------------------------------------ delegate


def test_delegate_to_a_colleague_of_the_same_department(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    org.claim(task, HOLDER)
    auth.login(HOLDER)
    form = client.get(f"/inbox/tasks/{task}/delegate").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z0-9-]+)"', form)
    assert set(offered) == {COLLEAGUE, HEAD}  # 办公室: the other clerk and the head

    response = client.post(f"/inbox/tasks/{task}/delegate",
                           data={"to": COLLEAGUE, "reason": "本人出差", "next": "/inbox/mine"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/mine"
    assert org.task(task).assignee == COLLEAGUE
    [event] = [e for e in org.events(org.task(task).instance_id)
               if e.type == "task_delegated"]
    assert (event.actor, event.data) == (HOLDER, {"from": HOLDER, "to": COLLEAGUE,
                                                  "reason": "本人出差"})
    assert task_ids(client, "/inbox/mine") == []
    as_user(auth, COLLEAGUE)
    assert task_ids(client, "/inbox/mine") == [str(task)]
    history = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert "转办任务" in history and "本人出差" in history


def test_delegation_needs_a_reason_and_a_colleague_of_the_department(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    org.claim(task, HOLDER)
    auth.login(HOLDER)
    no_reason = client.post(f"/inbox/tasks/{task}/delegate", data={"to": COLLEAGUE})
    assert no_reason.status_code == 400 and "请填写转办理由" in no_reason.get_data(as_text=True)
    elsewhere = client.post(f"/inbox/tasks/{task}/delegate",
                            data={"to": OTHER_DEPT, "reason": "试试"})
    assert elsewhere.status_code == 400
    assert org.task(task).assignee == HOLDER

    as_user(auth, COLLEAGUE)  # not the assignee: may not even open the form
    assert client.get(f"/inbox/tasks/{task}/delegate").status_code == 403
    response = client.post(f"/inbox/tasks/{task}/delegate",
                           data={"to": COLLEAGUE, "reason": "我来"})
    assert response.status_code == 403
    assert org.task(task).assignee == HOLDER


# --------------------------------------------------------------------- the task page


@pytest.mark.parametrize("username,allowed", [
    (HOLDER, True), (HEAD, True), (DEPUTY, True), (PRINCIPAL, True), (OFFICER, True),
    ("jiwei", True), ("admin", True),
    (COLLEAGUE, False), (OTHER_DEPT, False), (OTHER_UNIT, False), ("fgw-0001", False),
    ("fgw-0004", False), ("fgw-0009", False)])
def test_the_task_page_is_refused_to_whoever_may_not_see_the_task(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID, username: str,
        allowed: bool) -> None:
    auth.login(username)
    response = client.get(f"/tasks/{task}")
    html = response.get_data(as_text=True)
    if allowed:
        assert response.status_code == 200 and "查找廉政风险" in html
    else:
        assert response.status_code == 403
        assert "无权访问" in html and "查找廉政风险" not in html


def test_a_delegated_task_is_visible_to_its_new_assignee_only_among_clerks(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    org.claim(task, HOLDER)
    auth.login(HOLDER)
    client.post(f"/inbox/tasks/{task}/delegate", data={"to": COLLEAGUE, "reason": "休假"})
    as_user(auth, COLLEAGUE)
    assert client.get(f"/tasks/{task}").status_code == 200
    as_user(auth, OTHER_DEPT)
    assert client.get(f"/tasks/{task}").status_code == 403


# ------------------------------------------------------------- columns, cards, filters


def test_columns_show_process_organisation_key_and_dates(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID) -> None:
    auth.login(HOLDER)
    html = client.get("/inbox/claimable").get_data(as_text=True)
    row = html[html.index(f'data-task="{task}"'):]
    row = row[:row.index("</tr>")]
    for text in ("查找廉政风险", "岗位风险查找(测试)", "财政局", "办公室", "科员（文秘）",
                 f"2011-{HOLDER_POST}", "2011-01-04 09:00", "2011-01-14 09:00"):
        assert text in row, text
    assert "data-card" not in row


@pytest.mark.parametrize("later,card", [
    (timedelta(days=6), None), (timedelta(days=7), None),
    (timedelta(days=7, seconds=1), "yellow_card"), (timedelta(days=10), "yellow_card"),
    (timedelta(days=10, seconds=1), "red_card"), (timedelta(days=30), "red_card")])
def test_yellow_card_near_the_due_date_red_card_when_overdue(
        client: FlaskClient, auth: AuthActions, org: Org, task: uuid.UUID, later: timedelta,
        card: str | None) -> None:
    """Due T0 + 10 days; near means due within 3 days (the default)."""
    org.set_clock(T0 + later)
    auth.login(HOLDER)
    html = client.get("/inbox/claimable").get_data(as_text=True)
    assert re.findall(r'data-card="(\w+)"', html) == ([card] if card else [])
    if card == "red_card":
        assert "红牌" in html
    if card == "yellow_card":
        assert "黄牌" in html


def test_the_near_due_threshold_is_configurable(settings: Settings, org: Org,
                                                task: uuid.UUID) -> None:
    app = make_app(settings, IRPM_NEAR_DUE_DAYS=1)
    client = app.test_client()
    try:
        AuthActions(client).login(HOLDER)
        org.set_clock(T0 + timedelta(days=8))
        assert "data-card" not in client.get("/inbox/claimable").get_data(as_text=True)
        org.set_clock(T0 + timedelta(days=9, hours=1))
        assert 'data-card="yellow_card"' in client.get("/inbox/claimable").get_data(
            as_text=True)
    finally:
        app.extensions["irpm"].close()


@pytest.fixture
def many(org: Org) -> dict[str, uuid.UUID]:
    """Five open tasks in two units, listed by an administrator's 全部任务 view."""
    ids = {}
    for post in ("CZJ-BGS-01", "CZJ-BGS-02", "CZJ-BGS-03", "CZJ-YSK-02", "FGW-BGS-02"):
        ids[post] = org.open_task(org.start(post)).id
    return ids


def test_filters_by_unit_due_state_and_search(client: FlaskClient, auth: AuthActions,
                                              org: Org, many: dict[str, uuid.UUID]) -> None:
    auth.login("admin")
    assert len(task_ids(client, "/inbox/all")) == 5
    assert task_ids(client, "/inbox/all?unit=FGW") == [str(many["FGW-BGS-02"])]
    assert set(task_ids(client, "/inbox/all?unit=CZJ")) == {
        str(many[p]) for p in ("CZJ-BGS-01", "CZJ-BGS-02", "CZJ-BGS-03", "CZJ-YSK-02")}
    assert set(task_ids(client, "/inbox/all?q=%E6%96%87%E7%A7%98")) == {  # 文秘
        str(many["CZJ-BGS-02"]), str(many["FGW-BGS-02"])}
    assert task_ids(client, "/inbox/all?q=YSK") == [str(many["CZJ-YSK-02"])]
    assert task_ids(client, "/inbox/all?q=100%25") == []
    assert len(task_ids(client, "/inbox/all?process=inbox_cycle")) == 5
    assert task_ids(client, "/inbox/all?process=post_cycle") == []
    assert task_ids(client, "/inbox/all?due=overdue") == []
    assert len(task_ids(client, "/inbox/all?due=later")) == 5
    org.set_clock(T0 + timedelta(days=11))
    assert len(task_ids(client, "/inbox/all?due=overdue")) == 5
    assert len(task_ids(client, "/inbox/all?due=bogus&sort=bogus&page=x")) == 5


def test_sort_by_any_column_and_page(settings: Settings, org: Org,
                                     many: dict[str, uuid.UUID]) -> None:
    app = make_app(settings, IRPM_PAGE_SIZE=2)
    client = app.test_client()
    try:
        AuthActions(client).login("admin")
        by_post = [str(many[p]) for p in sorted(many)]
        page1 = task_ids(client, "/inbox/all?sort=post")
        page2 = task_ids(client, "/inbox/all?sort=post&page=2")
        page3 = task_ids(client, "/inbox/all?sort=post&page=3")
        assert page1 + page2 + page3 == by_post
        html = client.get("/inbox/all?sort=post&page=2").get_data(as_text=True)
        assert "第 3–4 条，共 5 条" in html and 'aria-current="page">2<' in html
        desc = (task_ids(client, "/inbox/all?sort=post&dir=desc")
                + task_ids(client, "/inbox/all?sort=post&dir=desc&page=2")
                + task_ids(client, "/inbox/all?sort=post&dir=desc&page=3"))
        assert desc == by_post[::-1]
        for key in ("name", "process", "unit", "business_key", "created", "due"):
            for direction in ("asc", "desc"):
                assert len(task_ids(client, f"/inbox/all?sort={key}&dir={direction}"
                                    )) == 2
        assert task_ids(client, "/inbox/all?sort=post&page=99") == []
    finally:
        app.extensions["irpm"].close()


def test_done_and_involved(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    started_by_holder = org.start(HOLDER_POST, "mine-started", by=HOLDER)
    worked = org.start("CZJ-BGS-03", "worked-on")
    untouched = org.start("CZJ-YSK-02", "not-mine")
    my_task = org.open_task(started_by_holder).id
    org.claim(my_task, HOLDER)
    org.complete(my_task, HOLDER)
    other = org.open_task(worked).id
    org.claim(other, "admin")
    org.complete(other, "admin")

    auth.login(HOLDER)
    assert task_ids(client, "/inbox/done") == [str(my_task)]
    html = client.get("/inbox/involved").get_data(as_text=True)
    assert re.findall(r'data-instance="(\d+)"', html) == [str(started_by_holder)]
    as_user(auth, "admin")
    html = client.get("/inbox/involved").get_data(as_text=True)
    instances = set(re.findall(r'data-instance="(\d+)"', html))
    assert instances == {str(worked), str(untouched)}  # started them
    assert task_ids(client, "/inbox/done") == [str(other)]


def test_empty_inbox_messages_and_english(client: FlaskClient, auth: AuthActions,
                                          org: Org) -> None:
    auth.login(OTHER_UNIT)
    assert "暂无待办任务" in client.get("/inbox/mine").get_data(as_text=True)
    assert client.get("/inbox/").headers["Location"] == "/inbox/mine"
    assert client.get("/").headers["Location"] == "/inbox/mine"
    client.post("/language", data={"lang": "en"})
    html = client.get("/inbox/claimable").get_data(as_text=True)
    assert "Nothing to claim" in html and "Involved" in html and "待认领" not in html



def test_all_tasks_is_for_administrators_only(client: FlaskClient, auth: AuthActions,
                                              org: Org, task: uuid.UUID) -> None:
    auth.login(HOLDER)
    assert client.get("/inbox/all").status_code == 403
    assert "/inbox/all" not in client.get("/inbox/mine").get_data(as_text=True)
    as_user(auth, "admin")
    assert task_ids(client, "/inbox/all") == [str(task)]
    assert 'href="/inbox/all"' in client.get("/inbox/mine").get_data(as_text=True)
