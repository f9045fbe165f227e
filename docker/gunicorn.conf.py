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

``IRPM_FORWARDED_ALLOW_IPS`` is read twice: here, for gunicorn's ``forwarded_allow_ips``
(the scheme: ``X-Forwarded-Proto``), and by the app (web.config → web.proxies), which takes
the client's address from ``X-Forwarded-For`` — gunicorn leaves ``REMOTE_ADDR`` the peer's.
Addresses or networks (``10.0.0.0/8, ::1``) mean the same to both. A number of proxies (the
app believes that many hops, whoever the peer) is ``*`` to gunicorn; ``0`` or ``none``:
no proxy, nobody's forwarded headers are believed.
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
_forwarded = os.environ.get("IRPM_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"
forwarded_allow_ips = ("" if _forwarded.lower() in ("0", "none") else
                       "*" if _forwarded.isdigit() else _forwarded)
accesslog = "-"
errorlog = "-"
# No runtime control socket (gunicornc): nothing in the container uses it, and its default
# place is the home directory, which the image keeps read-only.
control_socket_disable = True
