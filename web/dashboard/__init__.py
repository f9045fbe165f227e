"""The administrator console's dashboard (仪表盘) and, in rehearsals, the simulated clock's
controls: ``/console/dashboard`` for the city's discipline commission and administrators,
``/console/clock`` for administrators only.

The figures come from ``engine.programme.services.dashboard`` (grouped queries, read-only); the
charts
are drawn by ECharts (vendored by ``make setup``) from a static script reading the figures
out of a ``data-`` attribute, as the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.programme.services.dashboard_register import RegisterCache

from .. import nav

#: Who may see the dashboard: administrators and the city's discipline commission (the
#: unscoped role — a unit's own discipline officer holds ``discipline_officer:<unit>``).
ROLES = ("admin", "discipline_commission")
CACHE = "irpm_dashboard_register"

bp = Blueprint("dashboard", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/dashboard/static")


@bp.before_request
def _oversight_only() -> None:
    if request.endpoint == "dashboard.static":
        return
    if not current_user.is_authenticated or not current_user.has_role(*ROLES):
        abort(403)


def init_app(app: Flask) -> None:
    from . import clock, views  # noqa: F401  (register the routes on bp)

    # The register's grouped rows, reused while the register is unchanged (exact: see
    # engine.programme.services.dashboard_register); one per app, shared by its threads.
    app.extensions[CACHE] = RegisterCache()
    app.register_blueprint(bp)
    nav.add(app, nav.Item("dashboard.index", _l("Dashboard"), roles=ROLES, order=58))
