"""The designer's pages and JSON endpoints: only designers (and administrators) reach them,
every POST needs the CSRF token, validation names the element, nothing invalid is deployed
(the database stays as it was), deploy makes a version by the designer, drafts, upload and
download."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from engine.models import DesignDraft, ProcessDefinition, SourceFile
from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.services import deployment
from engine.settings import Settings
from tests.conftest import BPMN_DIR
from tests.databases import Template, TestDatabases, world
from tests.inbox_org import open_org, shared_password_hash

from .conftest import AuthActions, Org, csrf_token, make_app

UNIT_BPMN = (BPMN_DIR / "unit_cycle.bpmn").read_text(encoding="utf-8")
#: unit_cycle with 查找单位层面风险 taken out of its lane.
NO_LANE = UNIT_BPMN.replace("<bpmn:flowNodeRef>unit_discovery</bpmn:flowNodeRef>", "", 1)
#: unit_cycle with a harmless change (a new version when deployed).
RENAMED = UNIT_BPMN.replace('name="查找单位层面风险"', 'name="查找单位层面廉政风险"', 1)


def seed_designed(settings: Settings) -> None:
    org = open_org(settings)
    with org.rt.uow() as uow:
        organisation.save_account(uow, "designer", password_hash=shared_password_hash(),
                              roles={"designer"})
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="setup")
    org.rt.close()


@world
def designed_world(test_databases: TestDatabases, inbox_org_world: Template) -> Template:
    """The organisation with a designer account and bpmn/ deployed, once for this module."""
    return test_databases.build("designed", seed_designed, inbox_org_world)


@pytest.fixture
def designed(org: Org, designed_world: Template) -> Org:
    """The test organisation, a designer account and bpmn/ deployed."""
    return org


@pytest.fixture
def designer(client: FlaskClient, auth: AuthActions, designed: Org) -> FlaskClient:
    assert auth.login("designer").status_code == 302
    return client


def _count(org: Org, model: Any, *where: Any) -> int:
    with org.rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _versions(org: Org, process_id: str = "unit_cycle") -> list[tuple[int, str | None]]:
    with org.rt.uow(write=False) as uow:
        return [(r.version, r.deployed_by) for r in uow.session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.version))]


def _file(xml: str, name: str = "unit_cycle.bpmn") -> dict[str, str]:
    return {"filename": name, "xml": xml}


# ----------------------------------------------------------------------------- access


POSTS = ["/designer/api/validate", "/designer/api/deploy", "/designer/api/drafts"]
GETS = ["/designer/", "/designer/bpmn/unit_cycle", "/designer/dmn/post_grading.dmn",
        "/designer/diff/unit_cycle", "/designer/download/unit_cycle/1",
        "/designer/download/file/post_grading.dmn", "/designer/api/file?process=unit_cycle"]


def test_a_non_designer_is_refused_everywhere_and_nothing_changes(
        client: FlaskClient, auth: AuthActions, designed: Org) -> None:
    auth.login("czj-0011")
    for url in GETS:
        assert client.get(url).status_code == 403, url
    for url in POSTS:
        assert client.post(url, json=_file(RENAMED)).status_code == 403, url
    assert _upload(client, (RENAMED.encode(), "unit_cycle.bpmn")).status_code == 403
    assert _versions(designed) == [(1, "setup")]
    assert _count(designed, DesignDraft) == 0
    home = client.get("/inbox/mine")
    assert b'data-nav="designer.index"' not in home.data


def test_anonymous_visitors_must_sign_in(client: FlaskClient, designed: Org) -> None:
    assert client.get("/designer/").status_code in (302, 401)
    assert client.post("/designer/api/deploy", json=_file(RENAMED)).status_code in (302, 401)
    assert _versions(designed) == [(1, "setup")]


def test_an_administrator_may_design(client: FlaskClient, auth: AuthActions,
                                     designed: Org) -> None:
    auth.login("admin")
    assert client.get("/designer/").status_code == 200


def test_json_posts_need_the_csrf_token(settings: Settings, designed: Org) -> None:
    app: Flask = make_app(settings, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        page = client.get("/login")
        client.post("/login", data={"username": "designer", "password": "irpm-web-test-1",
                                    "csrf_token": csrf_token(page.get_data(as_text=True))})
        token = csrf_token(client.get("/designer/").get_data(as_text=True))
        refused = client.post("/designer/api/deploy", json=_file(RENAMED))
        assert refused.status_code == 400
        assert _versions(designed) == [(1, "setup")]
        ok = client.post("/designer/api/deploy", json=_file(RENAMED),
                         headers={"X-CSRFToken": token})
        assert ok.status_code == 200, ok.get_json()
        assert _versions(designed) == [(1, "setup"), (2, "designer")]
    finally:
        app.extensions["irpm"].close()


# ----------------------------------------------------------------------------- pages


def test_the_list_shows_versions_who_deployed_them_and_their_instances(
        designer: FlaskClient, designed: Org) -> None:
    designer.post("/designer/api/deploy", json=_file(RENAMED))
    html = designer.get("/designer/").get_data(as_text=True)
    assert 'data-process="unit_cycle"' in html and "单位廉政风险防控年度循环" in html
    section = html[html.index('data-process="unit_cycle"'):]
    section = section[:section.index("</section>")]
    assert 'data-version="2"' in section and 'data-version="1"' in section
    assert "designer" in section and "setup" in section
    assert 'data-col="instances">0<' in section
    assert 'data-dmn="post_grading.dmn"' in html
    assert 'data-dmn="responsibility.dmn"' in html  # only in bpmn/, still editable
    assert 'data-nav="designer.index"' in html


def test_the_instance_counts_follow_the_version(designer: FlaskClient, designed: Org) -> None:
    designed.start("CZJ-BGS-02")  # the inbox cycle (deployed by the org fixture)
    html = designer.get("/designer/").get_data(as_text=True)
    section = html[html.index('data-process="inbox_cycle"'):]
    section = section[:section.index("</section>")]
    assert 'data-col="instances">1<' in section and 'data-col="running">1<' in section


def test_editor_diff_and_dmn_pages_render(designer: FlaskClient) -> None:
    editor = designer.get("/designer/bpmn/unit_cycle").get_data(as_text=True)
    assert 'id="canvas"' in editor and "build/designer/editor.js" in editor
    assert "/designer/api/file?process=unit_cycle" in editor
    assert designer.get("/designer/bpmn/unit_cycle?version=9").status_code == 404
    dmn = designer.get("/designer/dmn/post_grading.dmn").get_data(as_text=True)
    assert 'id="dmn-canvas"' in dmn and "dmn-modeler.production.min.js" in dmn
    assert designer.get("/designer/dmn/unit_cycle.bpmn").status_code == 404
    designer.post("/designer/api/deploy", json=_file(RENAMED))
    diff = designer.get("/designer/diff/unit_cycle").get_data(as_text=True)
    assert "version=1" in diff and "version=2" in diff and "build/designer/diff.js" in diff


# ----------------------------------------------------------------------------- validate


def test_validate_names_the_element_and_changes_nothing(designer: FlaskClient,
                                                        designed: Org) -> None:
    response = designer.post("/designer/api/validate", json=_file(NO_LANE))
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is False
    [problem] = body["problems"]
    assert (problem["rule"], problem["element"]) == ("user_task_lane", "unit_discovery")
    assert problem["message"].startswith("用户任务“查找单位层面风险”不在任何泳道中")
    assert "is in no lane" in problem["detail"]  # the engine's English
    assert designer.post("/designer/api/validate", json=_file(UNIT_BPMN)).get_json() == {
        "ok": True, "problems": []}
    assert _versions(designed) == [(1, "setup")]


def test_problems_are_in_the_users_language(designer: FlaskClient) -> None:
    designer.post("/language", data={"lang": "en"})
    [problem] = designer.post("/designer/api/validate", json=_file(NO_LANE)).get_json()[
        "problems"]
    assert problem["message"].startswith("User task '查找单位层面风险' is in no lane")


@pytest.mark.parametrize("body", [
    {}, {"filename": "x.txt", "xml": "<a/>"}, {"filename": "../x.bpmn", "xml": "<a/>"},
    {"filename": "x.bpmn", "xml": ""}, {"filename": "x.bpmn"}, [1, 2],
])
def test_bad_requests_get_a_clear_400(designer: FlaskClient, body: Any) -> None:
    for url in POSTS:
        response = designer.post(url, json=body)
        assert response.status_code == 400, url
        assert response.get_json()["code"] == "validation_failed"


def test_a_file_too_large_is_refused(designer: FlaskClient, designed: Org) -> None:
    huge = UNIT_BPMN.replace("</bpmn:definitions>",
                             "<!--" + "x" * (5 * 1024 * 1024) + "--></bpmn:definitions>")
    response = designer.post("/designer/api/deploy", json=_file(huge))
    assert response.status_code == 400
    assert "xml" in response.get_json()["errors"]
    assert _versions(designed) == [(1, "setup")]


# ----------------------------------------------------------------------------- deploy


def test_deploy_refuses_an_invalid_diagram_and_stores_nothing(designer: FlaskClient,
                                                              designed: Org) -> None:
    response = designer.post("/designer/api/deploy", json=_file(NO_LANE))
    assert response.status_code == 422
    assert response.get_json()["problems"][0]["element"] == "unit_discovery"
    assert _versions(designed) == [(1, "setup")]


def test_deploy_makes_the_next_version_by_the_designer(designer: FlaskClient,
                                                       designed: Org) -> None:
    designer.post("/designer/api/drafts", json=_file(RENAMED))
    response = designer.post("/designer/api/deploy", json=_file(RENAMED))
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] is True
    assert {"process_id": "unit_cycle", "version": 2, "created": True,
            "diff_url": "/designer/diff/unit_cycle?new=2"} in body["deployed"]
    assert _versions(designed) == [(1, "setup"), (2, "designer")]
    assert _versions(designed, "post_cycle") == [(1, "setup")]  # a called process, unchanged
    assert _count(designed, DesignDraft) == 0  # deployed: the draft is gone
    again = designer.post("/designer/api/deploy", json=_file(RENAMED)).get_json()
    assert not any(d["created"] for d in again["deployed"])


def test_deploying_a_decision_table_from_its_editor(designer: FlaskClient,
                                                    designed: Org) -> None:
    dmn = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
    opened = designer.get("/designer/api/file?file=post_grading.dmn").get_json()
    assert (opened["kind"], opened["xml"]) == ("dmn", dmn)
    changed = dmn.replace("</definitions>", "<!-- edited --></definitions>")
    response = designer.post("/designer/api/deploy", json=_file(changed, "post_grading.dmn"))
    assert response.status_code == 200
    assert _versions(designed, "post_cycle") == [(1, "setup"), (2, "designer")]


#: post_grading with 公共服务 graded 一级: the table's own case (公共服务 → 二级) fails.
STRICTER_DMN = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8").replace(
    '<outputEntry id="rule_8_out">\n          <text>2</text>',
    '<outputEntry id="rule_8_out">\n          <text>1</text>')


def test_a_decision_table_whose_cases_fail_is_not_deployed(designer: FlaskClient,
                                                           designed: Org) -> None:
    """The editor's validate and deploy, and the upload form, list the failing case (its
    id, its source sentence, expected against actual); nothing is stored."""
    stored = (_count(designed, ProcessDefinition), _count(designed, SourceFile))
    validated = designer.post("/designer/api/validate",
                              json=_file(STRICTER_DMN, "post_grading.dmn")).get_json()
    response = designer.post("/designer/api/deploy",
                             json=_file(STRICTER_DMN, "post_grading.dmn"))
    assert validated["ok"] is False and response.status_code == 422
    body = response.get_json()
    assert body["ok"] is False and body["problems"] == validated["problems"]
    [problem] = [p for p in body["problems"] if "post_case_public_service" in p["detail"]]
    assert (problem["filename"], problem["element"]) == ("post_grading.dmn", "post_grading")
    assert "具有一般经济管理、社会事务管理、公共服务等职能的岗位,应确定为二级廉政风险" in \
        problem["detail"]
    assert "expected post_level=2, got post_level=1 (rule rule_8)" in problem["detail"]
    assert "post_case_public_service" in problem["message"]  # shown in the editor's list
    # one problem per failing case, worded in the user's language
    assert (problem["rule"], problem["code"]) == ("decision_case", "decision_case_failed")
    assert "测试用例 post_case_public_service 未通过" in problem["message"]
    uploaded = _upload(designer, (STRICTER_DMN.encode(), "post_grading.dmn"))
    assert uploaded.status_code == 400
    assert "post_case_public_service" in uploaded.get_data(as_text=True)
    assert _versions(designed, "post_cycle") == [(1, "setup")]
    assert (_count(designed, ProcessDefinition), _count(designed, SourceFile)) == stored


# ----------------------------------------------------------------------------- drafts


def test_a_draft_is_kept_by_whom_and_reopened(designer: FlaskClient, designed: Org) -> None:
    saved = designer.post("/designer/api/drafts", json=_file(NO_LANE))
    assert saved.status_code == 200 and saved.get_json()["saved_by"] == "designer"
    assert _versions(designed) == [(1, "setup")]  # not deployed
    opened = designer.get("/designer/api/file?process=unit_cycle&draft=1").get_json()
    assert (opened["origin"], opened["saved_by"], opened["xml"]) == ("draft", "designer",
                                                                     NO_LANE)
    html = designer.get("/designer/").get_data(as_text=True)
    assert 'data-draft="unit_cycle.bpmn"' in html
    assert designer.get("/designer/bpmn/unit_cycle?draft=1").status_code == 200
    download = designer.get("/designer/download/file/unit_cycle.bpmn?draft=1")
    assert download.get_data(as_text=True) == NO_LANE
    designer.post("/designer/drafts/unit_cycle.bpmn/discard")
    assert _count(designed, DesignDraft) == 0
    assert designer.post("/designer/drafts/unit_cycle.bpmn/discard").status_code == 404


def test_a_draft_must_be_well_formed(designer: FlaskClient, designed: Org) -> None:
    response = designer.post("/designer/api/drafts", json=_file("<bpmn:definitions"))
    assert response.status_code == 400
    assert "unit_cycle.bpmn" in response.get_json()["errors"]
    assert _count(designed, DesignDraft) == 0


# ----------------------------------------------------------------------------- files


def _upload(client: FlaskClient, *files: tuple[bytes, str], action: str = "deploy") -> Any:
    """POST the files; the encoded body (a temporary file when large) is closed after."""
    builder = EnvironBuilder(path="/designer/upload", method="POST", data={
        "action": action, "files": [(io.BytesIO(body), name) for body, name in files]})
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def test_an_invalid_upload_is_refused_with_its_message(designer: FlaskClient,
                                                       designed: Org) -> None:
    response = _upload(designer, (RENAMED.encode(), "unit_cycle.bpmn"),
                       (b"<definitions><oops></definitions>", "broken.dmn"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="upload-problems"' in html and "broken.dmn" in html
    assert "文件不是格式正确的 XML" in html
    assert _versions(designed) == [(1, "setup")]  # the valid file was not deployed either
    lint = _upload(designer, (NO_LANE.encode(), "unit_cycle.bpmn"))
    assert lint.status_code == 400 and 'data-element="unit_discovery"' in lint.get_data(
        as_text=True)
    assert _versions(designed) == [(1, "setup")]


@pytest.mark.parametrize(("body", "name"), [
    (b"MZ\x90\x00", "tool.exe"), (b"x" * (5 * 1024 * 1024 + 1), "big.bpmn")])
def test_uploads_of_other_kinds_or_too_large_are_refused(designer: FlaskClient,
                                                         designed: Org, body: bytes,
                                                         name: str) -> None:
    response = _upload(designer, (body, name))
    assert response.status_code == 400 and 'id="upload-problems"' in response.get_data(
        as_text=True)
    assert _versions(designed) == [(1, "setup")]


def test_upload_deploys_or_keeps_drafts(designer: FlaskClient, designed: Org) -> None:
    kept = _upload(designer, (NO_LANE.encode(), "unit_cycle.bpmn"), action="draft")
    assert kept.status_code == 302 and _count(designed, DesignDraft) == 1
    deployed = _upload(designer, (RENAMED.encode(), "unit_cycle.bpmn"))
    assert deployed.status_code == 302
    assert _versions(designed) == [(1, "setup"), (2, "designer")]
    assert "unit_cycle v2" in designer.get("/designer/").get_data(as_text=True)


def test_download_gives_the_deployed_file(designer: FlaskClient) -> None:
    response = designer.get("/designer/download/unit_cycle/1")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=unit_cycle.bpmn"
    assert response.get_data(as_text=True) == UNIT_BPMN
    dmn = designer.get("/designer/download/file/responsibility.dmn")
    assert dmn.get_data() == (BPMN_DIR / "responsibility.dmn").read_bytes()
    assert designer.get("/designer/download/file/nothing.dmn").status_code == 404
    assert designer.get("/designer/download/file/..%2Fpyproject.toml").status_code == 404
    assert designer.get("/designer/api/file?file=..%2Fpyproject.toml").status_code == 400


def test_a_bpmn20_xml_upload_deploys_and_a_stray_task_is_refused_in_chinese(
        designer: FlaskClient, designed: Org) -> None:
    """``.bpmn20.xml`` is a BPMN file name the designer takes (issue 12); a task that no
    flow reaches is refused in the user's language, naming the task and its id."""
    stray = RENAMED.replace("</bpmn:process>",
                            '<bpmn:task id="stray" name="孤立环节"/></bpmn:process>', 1)
    refused = _upload(designer, (stray.encode(), "unit_cycle.bpmn20.xml"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'data-element="stray"' in html
    assert "“孤立环节”(stray)没有流入的顺序流" in html
    assert _versions(designed) == [(1, "setup")]
    deployed = _upload(designer, (RENAMED.encode(), "unit_cycle.bpmn20.xml"))
    assert deployed.status_code == 302
    assert _versions(designed) == [(1, "setup"), (2, "designer")]
