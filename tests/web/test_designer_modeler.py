"""The designer at Modeler level: 编辑 opens a draft newer than the deployed file first (with
a note and a link to the deployed copy), a deploy never silently throws a differing draft
away (it keeps it and says so), and the version link is not mistranslated as 待办理."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from engine.models import DesignDraft
from engine.services import clock
from tests.conftest import BPMN_DIR

from . import test_designer as base
from .conftest import AuthActions, Org
from .test_designer import NO_LANE, RENAMED, UNIT_BPMN, _count, _file, _upload, _versions

#: The designer module's world and sign-in (bpmn/ deployed, a designer account).
designed_world = base.designed_world
designed = base.designed
designer = base.designer

DMN = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
#: post_grading.dmn with a harmless change: a draft that differs from the deployed table.
DMN_EDITED = DMN.replace("</definitions>", "<!-- edited --></definitions>", 1)


def test_the_version_link_says_open_this_version_not_to_do(designer: FlaskClient) -> None:
    html = designer.get("/designer/").get_data(as_text=True)
    row = html[html.index('data-version="1"'):]
    row = row[:row.index("</tr>")]
    assert "打开此版本" in row and "待办理" not in row


def test_edit_opens_a_newer_draft_first_with_a_link_to_the_version(
        designer: FlaskClient, designed: Org) -> None:
    assert designer.post("/designer/api/drafts", json=_file(NO_LANE)).status_code == 200
    html = designer.get("/designer/bpmn/unit_cycle").get_data(as_text=True)
    assert 'data-src="/designer/api/file?process=unit_cycle&amp;draft=1"' in html
    assert 'data-other="v1"' in html and "已部署的文件为 v1" in html
    assert 'href="/designer/bpmn/unit_cycle?version=1" id="other-copy-link"' in html
    opened = designer.get("/designer/api/file?process=unit_cycle&draft=1").get_json()
    assert opened["xml"] == NO_LANE
    # the version itself still opens when asked for, with no note
    version = designer.get("/designer/bpmn/unit_cycle?version=1").get_data(as_text=True)
    assert 'id="other-copy"' not in version


def test_edit_without_a_draft_opens_the_version_with_no_note(designer: FlaskClient) -> None:
    html = designer.get("/designer/bpmn/unit_cycle").get_data(as_text=True)
    assert 'data-src="/designer/api/file?process=unit_cycle"' in html
    assert 'id="other-copy"' not in html


def _later(org: Org) -> None:
    """Move the world's simulated clock on an hour (it stands still otherwise)."""
    with org.rt.uow() as uow:
        clock.advance_clock(uow, timedelta(hours=1))
        uow.commit()


def test_a_deploy_keeps_a_differing_draft_and_says_so(designer: FlaskClient,
                                                      designed: Org) -> None:
    designer.post("/designer/api/drafts", json=_file(NO_LANE))
    _later(designed)
    deployed = designer.post("/designer/api/deploy", json=_file(RENAMED)).get_json()
    assert deployed["ok"] and deployed["kept_drafts"] == ["unit_cycle.bpmn"]
    assert "unit_cycle.bpmn 的草稿与已部署的内容不同,已予保留" in deployed["message"]
    assert _versions(designed) == [(1, "setup"), (2, "designer")]
    assert _count(designed, DesignDraft, DesignDraft.filename == "unit_cycle.bpmn") == 1
    # the version is now newer than the draft: 编辑 opens v2 and mentions the older draft
    html = designer.get("/designer/bpmn/unit_cycle").get_data(as_text=True)
    assert 'data-src="/designer/api/file?process=unit_cycle"' in html
    assert 'data-other="draft"' in html and "较早的草稿" in html
    assert 'href="/designer/bpmn/unit_cycle?draft=1" id="other-copy-link"' in html


def test_a_deploy_of_the_drafted_text_removes_the_draft(designer: FlaskClient,
                                                        designed: Org) -> None:
    designer.post("/designer/api/drafts", json=_file(RENAMED))
    deployed = designer.post("/designer/api/deploy", json=_file(RENAMED)).get_json()
    assert deployed["ok"] and deployed["kept_drafts"] == []
    assert "保留" not in deployed["message"]
    assert _count(designed, DesignDraft) == 0


def test_a_deploy_by_upload_keeps_a_differing_draft_and_says_so(
        designer: FlaskClient, designed: Org) -> None:
    designer.post("/designer/api/drafts", json=_file(NO_LANE))
    _later(designed)
    response = _upload(designer, (RENAMED.encode(), "unit_cycle.bpmn"))
    assert response.status_code == 302
    page = designer.get("/designer/").get_data(as_text=True)
    assert "已予保留" in page and 'data-draft="unit_cycle.bpmn"' in page
    assert _versions(designed)[-1] == (2, "designer")


def test_the_dmn_editor_opens_a_newer_draft_first(designer: FlaskClient,
                                                  designed: Org) -> None:
    saved = designer.post("/designer/api/drafts", json=_file(DMN_EDITED, "post_grading.dmn"))
    assert saved.status_code == 200
    html = designer.get("/designer/dmn/post_grading.dmn").get_data(as_text=True)
    assert 'data-src="/designer/api/file?file=post_grading.dmn&amp;draft=1"' in html
    assert 'href="/designer/dmn/post_grading.dmn?deployed=1" id="other-copy-link"' in html
    deployed = designer.get("/designer/dmn/post_grading.dmn?deployed=1").get_data(as_text=True)
    assert 'data-src="/designer/api/file?file=post_grading.dmn"' in deployed
    assert designer.get("/designer/api/file?file=post_grading.dmn").get_json()["xml"] == DMN


def test_on_a_standing_clock_a_kept_draft_opens_first(designer: FlaskClient,
                                                      designed: Org) -> None:
    """The simulated clock stands still: the draft and the deploy carry the same time, and
    the unfinished work is what 编辑 shows (with the new version linked)."""
    assert RENAMED != UNIT_BPMN  # a real edit: a new version
    designer.post("/designer/api/drafts", json=_file(NO_LANE))
    assert designer.post("/designer/api/deploy", json=_file(RENAMED)).get_json()["ok"]
    html = designer.get("/designer/bpmn/unit_cycle").get_data(as_text=True)
    assert 'data-src="/designer/api/file?process=unit_cycle&amp;draft=1"' in html
    assert 'href="/designer/bpmn/unit_cycle?version=2" id="other-copy-link"' in html


# ----------------------------------------------------------------------------- deploy check


def _running_file(designer: FlaskClient) -> dict[str, str]:
    opened = designer.get("/designer/api/file?process=inbox_cycle").get_json()
    return _file(opened["xml"].replace("</bpmn:definitions>",
                                       "<!-- v2 --></bpmn:definitions>"), opened["filename"])


def test_the_deploy_check_counts_running_instances_per_version_and_changes_nothing(
        designer: FlaskClient, designed: Org) -> None:
    designed.start("CZJ-BGS-02")
    designed.start("CZJ-BGS-02")
    before = _versions(designed, "inbox_cycle")
    check = designer.post("/designer/api/deploy-check", json=_running_file(designer))
    body = check.get_json()
    assert check.status_code == 200
    assert (body["processes"], body["running"], body["total_running"], body["ask"]) == (
        ["inbox_cycle"], {"inbox_cycle": [{"version": 1, "running": 2}]}, 2, True)
    assert "2 个运行中的流程实例仍按其启动时的版本运行(inbox_cycle v1: 2)" in body["message"]
    assert body["message"].endswith("现在部署吗?")
    assert _versions(designed, "inbox_cycle") == before  # read only


def test_the_deploy_check_asks_nothing_when_nothing_runs(designer: FlaskClient) -> None:
    body = designer.post("/designer/api/deploy-check", json=_file(RENAMED)).get_json()
    assert (body["processes"], body["running"], body["ask"]) == (["unit_cycle"], {}, False)


def test_the_deploy_check_names_a_draft_it_would_keep(designer: FlaskClient,
                                                      designed: Org) -> None:
    designer.post("/designer/api/drafts", json=_file(NO_LANE))
    body = designer.post("/designer/api/deploy-check", json=_file(RENAMED)).get_json()
    assert body["kept_drafts"] == ["unit_cycle.bpmn"] and body["ask"] is True
    assert "unit_cycle.bpmn 的草稿与此文件不同,将予保留" in body["message"]


def test_the_deploy_check_of_a_table_lists_the_processes_using_it(
        designer: FlaskClient) -> None:
    body = designer.post("/designer/api/deploy-check",
                         json=_file(DMN_EDITED, "post_grading.dmn")).get_json()
    assert {"post_cycle", "unit_cycle", "campaign"} <= set(body["processes"])


def test_the_deploy_check_refuses_a_bad_request(designer: FlaskClient) -> None:
    response = designer.post("/designer/api/deploy-check", json={"filename": "x.txt"})
    assert response.status_code == 400 and "filename" in response.get_json()["errors"]


def test_the_deploy_check_is_for_designers_only(client: FlaskClient, auth: AuthActions,
                                                designed: Org) -> None:
    auth.login("czj-0011")
    response = client.post("/designer/api/deploy-check", json=_file(RENAMED))
    assert response.status_code == 403


# ----------------------------------------------------------------------------- new files


def test_a_new_blank_process_is_a_draft_opened_in_the_editor(designer: FlaskClient,
                                                             designed: Org) -> None:
    response = designer.post("/designer/new", data={"kind": "bpmn", "ident": "hr_review",
                                                    "name": "干部考察"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/designer/bpmn/hr_review?draft=1"
    assert designer.get(response.headers["Location"]).status_code == 200
    opened = designer.get("/designer/api/file?process=hr_review&draft=1").get_json()
    assert opened["filename"] == "hr_review.bpmn" and opened["origin"] == "draft"
    assert 'id="hr_review" name="干部考察" isExecutable="true"' in opened["xml"]
    assert 'data-draft="hr_review.bpmn"' in designer.get("/designer/").get_data(as_text=True)


def test_a_new_blank_decision_table_opens_and_validates(designer: FlaskClient,
                                                        designed: Org) -> None:
    response = designer.post("/designer/new", data={"kind": "dmn", "ident": "fee_level",
                                                    "name": "费用等级"})
    assert response.headers["Location"] == "/designer/dmn/fee_level.dmn?draft=1"
    assert designer.get(response.headers["Location"]).status_code == 200
    opened = designer.get("/designer/api/file?file=fee_level.dmn&draft=1").get_json()
    checked = designer.post("/designer/api/validate",
                            json=_file(opened["xml"], "fee_level.dmn")).get_json()
    assert checked["ok"], checked["problems"]


def test_a_new_file_with_a_bad_or_taken_id_is_refused_and_nothing_is_kept(
        designer: FlaskClient, designed: Org) -> None:
    bad = designer.post("/designer/new", data={"kind": "bpmn", "ident": "1 x</a>"})
    assert bad.status_code == 400
    assert "标识须以字母开头" in bad.get_data(as_text=True)
    taken = designer.post("/designer/new", data={"kind": "bpmn", "ident": "unit_cycle"})
    assert taken.status_code == 400 and "请另选一个" in taken.get_data(as_text=True)
    odd = designer.post("/designer/new", data={"kind": "xls", "ident": "x"})
    assert odd.status_code == 400
    assert _count(designed, DesignDraft) == 0
