"""Long work in the background, seen from the web: submitting a task whose step queues a
job answers at once (no child instance started yet) and leads to the job's page, whose
progress bar reads ``GET /api/v1/jobs/<id>``; only the job's starter and administrators see
it; the console lists every job."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import ProcessInstance
from engine.parsing import Source
from engine.services import deployment, instances, jobs
from tests.conftest import FIXTURES

from .conftest import AuthActions, Org

STARTER = "czj-0011"


@pytest.fixture
def waiting_go(org: Org) -> int:
    """A ``job_parent`` instance over seven items whose ``go`` task is ``STARTER``'s."""
    sources = [Source(p.name, p.read_bytes().replace(b'value="starter"',
                                                     f'value="{STARTER}"'.encode()))
               for p in sorted((FIXTURES / "jobs").glob("*.bpmn"))]
    with org.rt.uow() as uow:
        deployment.deploy(uow, sources, deployed_by="tests")
    with org.rt.uow() as uow:
        instance = instances.start_instance(uow, "job_parent", "p-1",
                                            {"items": [f"i{n}" for n in range(7)]})
    return instance.id


def _instances(org: Org) -> int:
    with org.rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def _submit(org: Org, client: FlaskClient, auth: AuthActions, instance_id: int) -> int:
    """Submit ``go`` on its page as ``STARTER``; returns the job the answer leads to."""
    auth.login(STARTER)
    task = org.open_task(instance_id)
    response = client.post(f"/tasks/{task.id}", data={"action": "submit"})
    assert response.status_code == 302, response.text
    match = re.fullmatch(r"/jobs/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def test_submitting_returns_before_any_instance_starts_and_shows_progress(
        org: Org, client: FlaskClient, auth: AuthActions, waiting_go: int) -> None:
    before = _instances(org)
    job_id = _submit(org, client, auth, waiting_go)
    assert _instances(org) == before  # the request started none of the seven
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    html = page.text
    assert f'data-progress="/api/v1/jobs/{job_id}"' in html
    assert 'role="progressbar"' in html and "job-progress.js" in html
    assert '<span data-role="done">0</span> / <span data-role="total">7</span>' in html
    body = client.get(f"/api/v1/jobs/{job_id}").json
    assert {k: body[k] for k in ("status", "done", "total", "percent", "started_by")} == {
        "status": "queued", "done": 0, "total": 7, "percent": 0, "started_by": STARTER}
    with org.rt.uow() as uow:
        assert jobs.run_pending_jobs(uow) == 1
    assert _instances(org) == before + 7
    body = client.get(f"/api/v1/jobs/{job_id}").json
    assert (body["status"], body["done"], body["percent"]) == ("done", 7, 100)
    assert body["result"] == {"instances_started": 7}


def test_only_the_starter_and_administrators_see_a_job(
        org: Org, client: FlaskClient, auth: AuthActions, waiting_go: int) -> None:
    job_id = _submit(org, client, auth, waiting_go)
    auth.logout()
    auth.login("czj-0012")
    assert client.get(f"/jobs/{job_id}").status_code == 403
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 403
    assert client.get("/console/jobs").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get(f"/jobs/{job_id}").status_code == 200
    assert client.get(f"/api/v1/jobs/{job_id}").json["id"] == job_id
    listing = client.get("/console/jobs")
    assert listing.status_code == 200
    assert f'data-job="{job_id}" data-status="queued"' in listing.text
    assert client.get(f"/api/v1/jobs/{job_id + 1}").status_code == 404
    auth.logout()
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 401
