"""The organisation and the risk register through the API (web/api/organisation,
web/api/register): units a role covers, departments, posts and leaders, CSV export and
import for administrators, a post's register and history for the people around the post."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from .conftest import AuthActions, Org

HOLDER, COLLEAGUE, HEAD, DEPUTY = "czj-0011", "czj-0012", "czj-0009", "czj-0002"
PRINCIPAL, OFFICER, OTHER_UNIT = "czj-0001", "czj-0004", "fgw-0011"
POST = "CZJ-BGS-02"
RISK = {"category": "duty", "description": "文件流转不登记", "likelihood": "high",
        "harm": "minor"}


def as_user(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def test_units_the_role_covers(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    assert client.get("/api/v1/units").status_code == 401
    auth.login(HOLDER)
    assert [u["code"] for u in client.get("/api/v1/units").get_json()] == ["CZJ"]
    unit = client.get("/api/v1/units/CZJ").get_json()
    assert unit["principal"] == {"code": "CZJ-0001", "name": "高春勇"}
    assert unit["discipline_officer"]["code"] == "CZJ-0004"
    departments = client.get("/api/v1/units/CZJ/departments").get_json()
    assert [d["code"] for d in departments] == ["CZJ-BGS", "CZJ-LDBZ", "CZJ-YSK"]
    assert departments[0]["head"]["name"] == "孟涛"
    posts = client.get("/api/v1/units/CZJ/posts").get_json()
    assert len(posts) == 8 and posts[1]["code"] == POST
    assert posts[1]["holder"] == {"code": "CZJ-0011", "name": "向永浩"}
    assert posts[1]["attributes"]["approval_power"] is False
    post = client.get(f"/api/v1/posts/{POST}").get_json()
    assert post["unit"]["code"] == "CZJ" and post["department"]["code"] == "CZJ-BGS"
    assert post["leaders"] == {"holder": HOLDER, "department_head": HEAD,
                               "deputy_in_charge": DEPUTY, "principal": PRINCIPAL,
                               "discipline_officer": OFFICER}
    for url in ("/api/v1/units/FGW", "/api/v1/units/FGW/departments",
                "/api/v1/units/FGW/posts", "/api/v1/posts/FGW-BGS-01"):
        response = client.get(url)
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    for url in ("/api/v1/units/XX", "/api/v1/units/XX/departments", "/api/v1/units/XX/posts",
                "/api/v1/posts/XX-01"):
        assert client.get(url).status_code == 404, url
    for overseer in ("admin", "jiwei"):
        as_user(auth, overseer)
        assert [u["code"] for u in client.get("/api/v1/units").get_json()] == ["CZJ", "FGW"]
        assert client.get("/api/v1/posts/FGW-BGS-01").status_code == 200


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_export_and_import_for_administrators(client: FlaskClient, auth: AuthActions,
                                              org: Org) -> None:
    assert client.get("/api/v1/organisation/export/posts").status_code == 401
    auth.login(PRINCIPAL)
    assert client.get("/api/v1/organisation/export/posts").status_code == 403
    assert client.post("/api/v1/organisation/import", data={}).status_code == 403
    as_user(auth, "admin")
    response = client.get("/api/v1/organisation/export/posts")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename=posts.csv" in response.headers["Content-Disposition"]
    posts = _rows(response.data)
    assert len(posts) == 12 and posts[0]["code"] == "CZJ-BGS-01"
    chinese = client.get("/api/v1/organisation/export/posts?chinese=true")
    assert "岗位编码" in chinese.data.decode("utf-8-sig").splitlines()[0]
    assert client.get("/api/v1/organisation/export/people").status_code == 404

    posts[0]["name"] = "办公室主任（兼）"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(posts[0]))
    writer.writeheader()
    writer.writerows(posts)
    upload = out.getvalue().encode()
    response = client.post("/api/v1/organisation/import", data={
        "posts": (io.BytesIO(upload), "posts.csv"), "dry_run": "true"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is True and body["counts"] == {"created": 0, "updated": 1,
                                                         "unchanged": 11}
    assert body["updated"][0]["changes"] == {"name": {"old": "办公室主任",
                                                      "new": "办公室主任（兼）"}}
    assert client.get("/api/v1/posts/CZJ-BGS-01").get_json()["name"] == "办公室主任"
    response = client.post("/api/v1/organisation/import", data={
        "posts": (io.BytesIO(upload), "posts.csv")})
    assert response.get_json()["counts"]["updated"] == 1
    assert client.get("/api/v1/posts/CZJ-BGS-01").get_json()["name"] == "办公室主任（兼）"

    bad = upload.replace(b"CZJ-BGS,", b"NO-SUCH,", 1)
    response = client.post("/api/v1/organisation/import", data={
        "posts": (io.BytesIO(bad), "posts.csv")})
    assert response.status_code == 422
    assert any(key.startswith("posts") for key in response.get_json()["errors"])
    response = client.post("/api/v1/organisation/import", data={})
    assert response.status_code == 422 and "posts" in response.get_json()["errors"]


def test_register_for_the_people_around_the_post(client: FlaskClient, auth: AuthActions,
                                                 org: Org) -> None:
    assert client.get(f"/api/v1/posts/{POST}/register").status_code == 401
    auth.login(HOLDER)
    body = client.get(f"/api/v1/posts/{POST}/register").get_json()
    assert body["year"] is None and body["risk_points"] == [] and body["grading"] is None
    assert body["post"]["code"] == POST and body["leaders"]["holder"] == HOLDER
    response = client.post(f"/api/v1/posts/{POST}/risk-points",
                           json={"year": 2011, "points": [RISK]})
    assert response.status_code == 201, response.get_json()
    [point] = response.get_json()
    assert (point["found_by"], point["level"], point["created_by"]) == (
        "self_identified", 1, HOLDER)
    for who, found_by in ((HEAD, "leader_pointed"), (OFFICER, "organization_reviewed")):
        as_user(auth, who)
        response = client.post(f"/api/v1/posts/{POST}/risk-points",
                               json={"year": 2011, "points": [RISK]})
        assert response.get_json()[0]["found_by"] == found_by
    for who in (DEPUTY, PRINCIPAL, "jiwei", "admin"):
        as_user(auth, who)
        body = client.get(f"/api/v1/posts/{POST}/register?year=2011").get_json()
        assert body["year"] == 2011 and len(body["risk_points"]) == 3, who
        history = client.get(f"/api/v1/posts/{POST}/history").get_json()
        assert {h["field"] for h in history} >= {"category", "description"}, who
    as_user(auth, "jiwei")  # reads every register; adds to none
    response = client.post(f"/api/v1/posts/{POST}/risk-points",
                           json={"year": 2011, "points": [RISK]})
    assert response.status_code == 403
    for who in (COLLEAGUE, OTHER_UNIT):
        as_user(auth, who)
        for response in (client.get(f"/api/v1/posts/{POST}/register"),
                         client.get(f"/api/v1/posts/{POST}/history"),
                         client.post(f"/api/v1/posts/{POST}/risk-points",
                                     json={"year": 2011, "points": [RISK]})):
            assert response.status_code == 403, who
    as_user(auth, HOLDER)
    assert client.get("/api/v1/posts/XX-01/register").status_code == 404
    assert client.get("/api/v1/posts/XX-01/history").status_code == 404


@pytest.mark.parametrize("body,fields", [
    ({"points": [RISK]}, ["year"]),
    ({"year": 1900, "points": [RISK]}, ["year"]),
    ({"year": 2011, "points": []}, ["points"]),
    ({"year": 2011, "points": [{**RISK, "category": "weather"}]}, ["points.0.category"]),
    ({"year": 2011, "points": [RISK, {**RISK, "harm": None, "likelihood": "often"}]},
     ["points.1.harm", "points.1.likelihood"]),
])
def test_invalid_risk_points_name_the_field(client: FlaskClient, auth: AuthActions, org: Org,
                                            body: dict[str, object],
                                            fields: list[str]) -> None:
    auth.login(HOLDER)
    response = client.post(f"/api/v1/posts/{POST}/risk-points", json=body)
    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == fields
    assert client.get(f"/api/v1/posts/{POST}/register").get_json()["risk_points"] == []
