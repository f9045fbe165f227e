"""后期处置 started from a special channel's finding through the API (web/api/register):
``POST /api/v1/posts/<post>/channel-disposals`` with the channel (举报投诉、财务审计、执法检查、
问卷调查) and the finding, by the unit's discipline officer or the city's discipline commission
only. The channel is required and recorded as the finding's ``found_by``; a refused start
changes nothing."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.parsing import read_sources
from engine.services import deployment
from tests.conftest import BPMN_DIR

from .conftest import AuthActions, Org

HOLDER, HEAD, OFFICER, OTHER_OFFICER = "czj-0011", "czj-0009", "czj-0004", "fgw-0004"
POST = "CZJ-BGS-02"
URL = f"/api/v1/posts/{POST}/channel-disposals"
START = {"channel": "questionnaire", "description": "问卷调查:办事群众反映须托人情", "year": 2011}


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def test_a_questionnaire_finding_starts_a_disposal_through_the_api(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR / "disposal.bpmn"]), deployed_by="tests")
    assert client.post(URL, json=START).status_code == 401

    for who, body, status, field in (
            (HEAD, START, 403, None),  # a leader of the post, not its unit's officer
            (OTHER_OFFICER, START, 403, None),  # another unit's officer
            (HOLDER, START, 403, None),  # the post's holder is no discipline officer
            (OFFICER, {**START, "channel": "leader_pointed"}, 422, "channel"),
            (OFFICER, {k: v for k, v in START.items() if k != "channel"}, 422, "channel"),
            (OFFICER, {**START, "description": "  "}, 422, "description")):
        as_user(auth, who)
        response = client.post(URL, json=body)
        assert response.status_code == status, (who, response.get_json())
        if field:
            assert field in str(response.get_json()), response.get_json()
    as_user(auth, OFFICER)
    assert client.get(f"/api/v1/posts/{POST}/disposals").get_json() == []  # nothing started

    response = client.post(URL, json=START)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["business_key"], response.get_json()["started_by"]) == (
        f"disposal:{POST}:channel:1", OFFICER)
    as_user(auth, "jiwei")
    second = client.post(URL, json={**START, "channel": "financial_audit",
                                    "description": "财务审计:差旅费超标准报销"})
    assert second.get_json()["business_key"] == f"disposal:{POST}:channel:2"

    as_user(auth, HOLDER)
    register = client.get(f"/api/v1/posts/{POST}/register?year=2011").get_json()
    assert sorted(p["found_by"] for p in register["risk_points"]) == [
        "financial_audit", "questionnaire"]
    history = client.get(f"/api/v1/posts/{POST}/history").get_json()
    assert "后期处置:专用监督渠道发现问题" in {h["reason"] for h in history}
