"""The designer shows, per decision table, the processes a change to it affects — their latest
versions and running instances — on the list and in the table's editor; deploying a changed
table from the editor makes new versions of them."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from engine.parsing import read_sources
from engine.programme.services import organisation
from engine.services import deployment
from tests.conftest import BPMN_DIR

from .conftest import AuthActions, Org

RESPONSIBILITY = (BPMN_DIR / "responsibility.dmn").read_text(encoding="utf-8")


@pytest.fixture
def designer(client: FlaskClient, auth: AuthActions, org: Org, password_hash: str) -> FlaskClient:
    """The test organisation, a designer signed in, bpmn/ deployed."""
    with org.rt.uow() as uow:
        organisation.save_account(uow, "designer", password_hash=password_hash,
                                  roles={"designer"})
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="setup")
    assert auth.login("designer").status_code == 302
    return client


def users(html: str, filename: str) -> dict[str, tuple[str, str]]:
    """process id → (latest version, running) as listed for ``filename``."""
    start = html.index(f'data-table-users="{filename}"')
    block = html[start:html.index("</div>\n</div>", start)]
    return {m[0]: (m[1], m[2]) for m in re.findall(
        r'data-user="(\w+)" data-latest="(\d+)" data-running="(\d+)"', block)}


def test_the_list_and_the_editor_name_the_processes_using_a_table(
        designer: FlaskClient, org: Org) -> None:
    listed = designer.get("/designer/").get_data(as_text=True)
    expected = {p: ("1", "0") for p in ("campaign", "post_cycle", "unit_cycle")}
    for filename in ("post_grading.dmn", "risk_grading.dmn", "responsibility.dmn"):
        assert users(listed, filename) == expected
    assert "使用该表的流程" in listed  # the default language
    editor = designer.get("/designer/dmn/responsibility.dmn").get_data(as_text=True)
    assert users(editor, "responsibility.dmn") == expected

    changed = RESPONSIBILITY.replace("</definitions>", "<!-- edited --></definitions>")
    response = designer.post("/designer/api/deploy",
                             json={"filename": "responsibility.dmn", "xml": changed})
    assert response.status_code == 200
    assert {d["process_id"]: d["version"] for d in response.get_json()["deployed"]
            if d["created"]} == {"campaign": 2, "post_cycle": 2, "unit_cycle": 2}
    after = designer.get("/designer/dmn/responsibility.dmn").get_data(as_text=True)
    assert users(after, "responsibility.dmn") == {
        p: ("2", "0") for p in ("campaign", "post_cycle", "unit_cycle")}
    opened = designer.get("/designer/api/file?file=responsibility.dmn").get_json()
    assert opened["xml"] == changed
