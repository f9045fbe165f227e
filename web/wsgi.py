"""The WSGI entry point for a production server: ``gunicorn web.wsgi:app``.

The app is built from the ``IRPM_*`` environment, once per worker process. Unless
``IRPM_SCHEDULER=off`` each worker also runs an embedded scheduler; only one of them leads
(``scheduler.leader``), so that is safe — but the production set-up (docker/) sets
``IRPM_SCHEDULER=off`` and runs one ``irpm scheduler`` process beside the workers.
"""

from __future__ import annotations

from scheduler import start_embedded

from . import create_app

app = create_app()
scheduler = start_embedded(app.extensions["irpm"])
