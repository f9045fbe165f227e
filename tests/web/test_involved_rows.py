"""我参与的 rows (issue 16 point 2): each instance opens the person's own latest task in it,
and says where it stands now — its open steps and who holds each (待认领 while nobody has
claimed it)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from .conftest import AuthActions, Org

HOLDER, HEAD = "czj-0011", "czj-0009"
HOLDER_POST = "CZJ-BGS-02"


def _row(html: str, instance_id: int) -> str:
    start = html.index(f'data-instance="{instance_id}"')
    return html[start:html.index("</tr>", start)]


def test_an_involved_row_opens_my_task_and_names_the_open_step(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    iid = org.start(HOLDER_POST, "mine", by=HOLDER)
    mine = org.open_task(iid).id
    org.complete(mine, HOLDER)
    auth.login(HOLDER)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert re.search(rf'<a href="/tasks/{mine}" data-role="open-task">', row)
    steps = row[row.index('data-role="current-steps"'):]
    assert "严格审核把关" in steps and "待认领" in steps
    review = org.open_task(iid).id
    org.claim(review, HEAD)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert f"严格审核把关 · <span class=\"text-body-secondary\">{HEAD}</span>" in row
    org.complete(review, HEAD)
    row = _row(client.get("/inbox/involved").get_data(as_text=True), iid)
    assert "严格审核把关" not in row[row.index('data-role="current-steps"'):]
    assert client.get(f"/tasks/{mine}").status_code == 200  # the link opens for its doer
