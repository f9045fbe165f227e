"""Background jobs' pages (/jobs/<id>): the progress bar shown after a step queued long work
(completing 广泛宣传发动 queues the start of 588 instances), refreshed by
``static/js/job-progress.js`` from the API's ``GET /api/v1/jobs/<id>``. Whoever started the
job and administrators see it (``engine.services.jobs.get_job``); the console lists every
job (``web.console.job_views``)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder="templates")


def init_app(app: Flask) -> None:
    from . import views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
