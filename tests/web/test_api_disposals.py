"""后期处置 started by hand from a post's register through the API (web/api/register):
``POST /api/v1/posts/<post>/disposals`` with the finding and a written reason, by the unit's
discipline officer or the city's discipline commission only; ``GET`` lists the post's
disposals. A refused start changes nothing."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.parsing import read_sources
from engine.services import deployment
from tests.conftest import BPMN_DIR

from .conftest import AuthActions, Org

HOLDER, HEAD, OFFICER, OTHER_OFFICER = "czj-0011", "czj-0009", "czj-0004", "fgw-0004"
POST = "CZJ-BGS-02"
URL = f"/api/v1/posts/{POST}/disposals"
START = {"description": "收取办事群众财物", "reason": "群众来信举报,经初核属实", "year": 2011}


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def test_the_discipline_officer_or_the_commission_start_a_disposal_by_hand(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR / "disposal.bpmn"]), deployed_by="tests")
    assert client.post(URL, json=START).status_code == 401

    for who, body, status, code in (
            (HEAD, START, 403, "forbidden"),  # a leader of the post, not its unit's officer
            (OTHER_OFFICER, START, 403, "forbidden"),  # another unit's officer
            ("admin", START, 403, "forbidden"),
            (OFFICER, {**START, "reason": "   "}, 422, "validation_failed"),
            (OFFICER, {k: v for k, v in START.items() if k != "reason"}, 422, None)):
        as_user(auth, who)
        response = client.post(URL, json=body)
        assert response.status_code == status, (who, response.get_json())
        if code:
            assert response.get_json()["code"] == code
    as_user(auth, HEAD)
    forbidden = client.post(URL, json=START).get_json()
    assert "discipline officer of unit CZJ" in forbidden["message"]
    as_user(auth, OFFICER)
    assert client.get(URL).get_json() == []  # nothing was started

    response = client.post(URL, json={**START, "found_by": "financial_audit"})
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    assert (started["business_key"], started["started_by"], started["status"]) == (
        f"disposal:{POST}:register:1", OFFICER, "waiting")
    as_user(auth, "jiwei")
    assert client.post(URL, json=START).get_json()["business_key"] == \
        f"disposal:{POST}:register:2"

    as_user(auth, HOLDER)  # the people around the post see its disposals and register
    listed = client.get(URL).get_json()
    assert [d["business_key"] for d in listed] == [f"disposal:{POST}:register:2",
                                                   f"disposal:{POST}:register:1"]
    register = client.get(f"/api/v1/posts/{POST}/register?year=2011").get_json()
    assert sorted(p["found_by"] for p in register["risk_points"]) == ["complaint",
                                                                      "financial_audit"]
    history = client.get(f"/api/v1/posts/{POST}/history").get_json()
    assert "后期处置:由信息档案手工启动:群众来信举报,经初核属实" in {h["reason"] for h in history}
    as_user(auth, OTHER_OFFICER)
    assert client.get(URL).status_code == 403
