"""gunicorn settings for the production set-up (docker/compose.yaml, README "Production
set-up"): ``gunicorn --config docker/gunicorn.conf.py web.wsgi:app``.

Each worker builds its own app and engine runtime (no ``preload_app``: database pools must
not cross a fork). Workers run no scheduler (``IRPM_SCHEDULER=off``, set by the image);
``irpm scheduler`` runs beside them.

=============================== ============== ===============================================
variable                        default        meaning
=============================== ============== ===============================================
``IRPM_BIND``                   0.0.0.0:8000   address gunicorn listens on
``IRPM_WEB_WORKERS``            ``4``          worker processes
``IRPM_WEB_THREADS``            ``4``          threads per worker
``IRPM_FORWARDED_ALLOW_IPS``    ``127.0.0.1``  proxies whose X-Forwarded-* headers are trusted
=============================== ============== ===============================================
"""

import os

bind = os.environ.get("IRPM_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("IRPM_WEB_WORKERS", "4"))
threads = int(os.environ.get("IRPM_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
keepalive = 5
# A worker is replaced now and then, so a slow leak cannot grow for ever.
max_requests = 5000
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("IRPM_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# No runtime control socket (gunicornc): nothing in the container uses it, and its default
# place is the home directory, which the image keeps read-only.
control_socket_disable = True
