"""Input that used to answer 500 is refused at the edge with the right 4xx (issue 13,
finding 9; web/edges.py, web/api/errors.py): a JSON field named ``""``, path integers
beyond the database's BIGINT, JSON nested 5,000 deep, integers of more than 4,300 digits,
NUL and other control characters anywhere a request carries text — alike on SQLite and
PostgreSQL (where a NUL reached the database and failed there), changing nothing."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter, Rule

from engine.models import AuditEntry, HumanTask, RateLimit, TaskDraft, TaskState
from engine.programme.models import Feedback
from tests.databases import Template
from web.api.errors import flatten
from web.edges import MAX_ID, MAX_JSON_DEPTH, at_most

from .conftest import AuthActions, Org, make_app

ADMIN, STAFF, HOLDER = "admin", "czj-0012", "czj-0011"
HUGE = "99999999999999999999"  # > 2**63
NUL = "a\x00b"


def counts(org: Org) -> tuple[int, ...]:
    """Rows a refused request must not add."""
    with org.rt.uow(write=False) as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(model)) or 0
                     for model in (RateLimit, AuditEntry, Feedback, TaskDraft))


def signed_in(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username:
        assert AuthActions(client).login(username).status_code == 302
    return client


def rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every route and method but the static files'."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.endswith("static"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def _fill(rule: Rule, values: dict[str, str]) -> str:
    parts = []
    for dynamic, text in rule._trace:
        parts.append(values[text] if dynamic else text)
    return "".join(parts).split("|", 1)[-1]


# ----------------------------------------------------------------- a field named ""


def test_flatten_keeps_a_field_named_empty() -> None:
    assert flatten({"": ["Unknown field."], "data": {"": ["Unknown field."]}}) == {
        "": ["Unknown field."], "data.": ["Unknown field."]}
    assert flatten(["whole document"]) == {"_schema": ["whole document"]}


@pytest.mark.parametrize("path", ["/api/v1/instances", "/api/v1/tokens",
                                  "/api/v1/posts/CZJ-BGS-02/risk-points",
                                  "/api/v1/instances/1/suspend"])
def test_a_json_field_named_empty_is_a_422_naming_it(app: Flask, org: Org,
                                                      path: str) -> None:
    before = counts(org)
    response = signed_in(app, ADMIN).post(path, json={"": 1})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "" in response.get_json()["errors"]
    assert counts(org) == before


def test_the_organisation_import_refuses_a_non_admin_before_validating(
        app: Flask, org: Org) -> None:
    staff = signed_in(app, STAFF)
    response = staff.post("/api/v1/organisation/import", data={"": "x"},
                          content_type="multipart/form-data")
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    response = signed_in(app, ADMIN).post("/api/v1/organisation/import", data={"": "x"},
                                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert "" in response.get_json()["errors"]


# -------------------------------------------------------------- integers in the path


def test_every_integer_route_answers_404_beyond_bigint(app: Flask, org: Org) -> None:
    admin = signed_in(app, ADMIN)
    checked = 0
    for rule, method in rules(app):
        names = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        for name in names:
            path = _fill(rule, {**_defaults(rule), name: HUGE})
            response = admin.open(path, method=method)
            assert response.status_code == 404, f"{method} {path}"
            checked += 1
    assert checked >= 30


def test_the_largest_id_is_looked_up_and_not_found(app: Flask, org: Org) -> None:
    admin = signed_in(app, ADMIN)
    for path in (f"/api/v1/instances/{MAX_ID}", f"/console/instances/{MAX_ID}",
                 f"/designer/download/post_cycle/{2**31 - 1}",
                 f"/designer/download/post_cycle/{2**31}", f"/publicity/CZJ/{2**31}"):
        assert admin.get(path).status_code == 404, path
    assert admin.get(f"/publicity/CZJ/{2**31 - 1}").status_code == 200
    beyond = admin.get(f"/api/v1/instances/{MAX_ID + 1}")  # the API's own 404, in JSON
    assert beyond.status_code == 404 and beyond.get_json()["code"] == "not_found"


@pytest.mark.parametrize("limit", [7, 10, 205, 2**31 - 1, MAX_ID])
def test_the_integer_pattern_matches_exactly_up_to_its_limit(limit: int) -> None:
    pattern = re.compile(at_most(limit) + r"\Z")
    for number in [*range(1200), limit - 1, limit, limit + 1, limit * 10, 10**25]:
        assert bool(pattern.match(str(number))) == (number <= limit), number


def test_anonymous_publicity_beyond_bigint_is_no_page(app: Flask, org: Org) -> None:
    """As any address that is no page: 404 (anonymous callers are sent to sign in first)."""
    for who in (None, STAFF):
        client = signed_in(app, who)
        unknown = client.get("/publicity/CZJ/no-year").status_code
        assert unknown in (302, 404)
        assert client.get(f"/publicity/CZJ/{HUGE}").status_code == unknown
        assert client.get(f"/publicity/CZJ/{HUGE}/CZJ-BGS-02").status_code == unknown


def _defaults(rule: Rule) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        values[name] = ("1" if isinstance(converter, IntegerConverter)
                        else str(uuid.uuid4()) if kind == "UUIDConverter"
                        else sorted(getattr(converter, "items", ["x"]))[0]
                        if kind == "AnyConverter" else "CZJ")
    return values


# ------------------------------------------------------------------ JSON bodies


@pytest.mark.parametrize("who,path", [(None, "/api/v1/feedback"), (None, "/login"),
                                      (ADMIN, "/api/v1/instances"),
                                      (ADMIN, "/designer/api/validate"),
                                      (STAFF, "/profile/tokens")])
def test_json_nested_5000_deep_is_a_400(app: Flask, org: Org, who: str | None,
                                        path: str) -> None:
    before = counts(org)
    response = signed_in(app, who).post(path, data="[" * 5000 + "]" * 5000,
                                        content_type="application/json")
    assert response.status_code == 400
    assert str(MAX_JSON_DEPTH) in response.get_json()["message"]
    assert counts(org) == before


def test_json_one_level_too_deep_is_named(app: Flask, org: Org) -> None:
    body = '{"data": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    response = signed_in(app, ADMIN).post("/api/v1/instances", data=body,
                                          content_type="application/json")
    assert response.status_code == 400
    [field] = response.get_json()["errors"]
    assert field.startswith("data.0.0")


@pytest.mark.parametrize("number,words", [("9" * 5000, "4300 digits"),
                                          (str(2**63), "beyond"), ("1e400", "too large"),
                                          ("NaN", "NaN is not a number")])
def test_numbers_json_cannot_hold_are_a_400_naming_the_field(
        app: Flask, org: Org, number: str, words: str) -> None:
    response = signed_in(app, ADMIN).post(
        "/api/v1/instances", data='{"process_id": "post_cycle", "data": {"n": ' + number
        + "}}", content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "bad_request" and words in body["message"]


# ---------------------------------------------------- NUL and other control characters


def test_a_nul_anywhere_is_a_400_at_every_route(app: Flask, org: Org) -> None:
    """Every route, as an administrator: a NUL in a path value, in the query string, in a
    form field and in a JSON string (the 13 routes that failed on PostgreSQL among them)."""
    admin = signed_in(app, ADMIN)
    before = counts(org)
    for rule, method in rules(app):
        if rule.endpoint == "auth.logout":
            continue
        path = _fill(rule, _defaults(rule))
        sent = [admin.open(path, method=method, query_string={"q": NUL})]
        strings = [n for n, c in rule._converters.items() if type(c).__name__ in (
            "UnicodeConverter", "PathConverter")]
        sent += [admin.open(_fill(rule, {**_defaults(rule), n: "a%00b"}), method=method)
                 for n in strings]
        if method != "GET":
            sent.append(admin.open(path, method=method, data={"reason": NUL}))
            sent.append(admin.open(path, method=method, json={"reason": NUL}))
        for response in sent:
            assert response.status_code == 400, f"{method} {rule.rule}"
    assert counts(org) == before


def test_anonymous_sign_in_and_feedback_with_a_nul_change_nothing(
        client: FlaskClient, org: Org) -> None:
    before = counts(org)
    response = client.post("/login", data={"username": NUL, "password": "x"})
    assert response.status_code == 400
    assert "U+0000" in response.get_data(as_text=True)
    response = client.post("/api/v1/feedback", json={
        "unit_code": "CZJ", "post_code": "CZJ-BGS-02", "content": NUL})
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"content": [response.get_json()["message"]]}
    assert counts(org) == before


@pytest.mark.parametrize("text", ["\x0b", "\x1b", "\x7f", "\x85"])
def test_other_control_characters_are_refused_too(client: FlaskClient, org: Org,
                                                  text: str) -> None:
    before = counts(org)
    response = client.post("/login", data={"username": f"a{text}b", "password": "x"})
    assert response.status_code == 400
    assert f"U+{ord(text):04X}" in response.get_data(as_text=True)
    assert counts(org) == before


def test_tab_line_feed_and_carriage_return_pass(client: FlaskClient, org: Org) -> None:
    before = counts(org)
    response = client.post("/login", data={"username": "a\tb\r\nc", "password": "x"})
    assert "U+" not in response.get_data(as_text=True)
    assert counts(org)[0] == before[0] + 2  # a failed sign-in, counted as any unknown name


def test_a_lone_surrogate_in_json_is_refused(app: Flask, org: Org) -> None:
    response = signed_in(app, STAFF).post(
        "/api/v1/tokens", data='{"name": "\\ud800"}', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"name": [response.get_json()["message"]]}


def test_a_control_character_in_a_json_key_or_a_file_name_is_refused(app: Flask,
                                                                      org: Org) -> None:
    admin = signed_in(app, ADMIN)
    response = admin.post("/api/v1/instances", json={"process_id": "x", "data": {NUL: 1}})
    assert response.status_code == 400
    assert "name of JSON field" in response.get_json()["message"]
    response = admin.post("/designer/upload", data={
        "files": (io.BytesIO(b"<x/>"), "a\x00.bpmn")}, content_type="multipart/form-data")
    assert response.status_code == 400


@pytest.fixture
def task_app(settings: Any, post_cycle_world: Template, tmp_path: Any) -> Iterator[Flask]:
    app = make_app(settings, IRPM_EVIDENCE_DIR=str(tmp_path / "evidence"))
    yield app
    app.extensions["irpm"].close()


def test_a_nul_in_a_task_form_field_never_reaches_the_instance(task_app: Flask,
                                                               org: Org) -> None:
    with org.rt.uow(write=False) as uow:
        task = uow.session.scalars(select(HumanTask).where(
            HumanTask.element_id == "self_identified")).one()
    org.claim(task.id, HOLDER)
    holder = signed_in(task_app, HOLDER)
    for action in ("save", "submit"):
        response = holder.post(f"/tasks/{task.id}", data={
            "action": action, "risks.0._row": "1", "risks.0.description": NUL})
        assert response.status_code == 400
    assert counts(org)[3] == 0  # no draft
    assert org.task(task.id).state == TaskState.OPEN
