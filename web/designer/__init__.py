"""The process designer (role designer; administrators too): the definitions and their
versions, the BPMN editor (bpmn-js modeler with a properties panel for every property the
engine reads), the DMN editor (dmn-js), validation before deployment, deployment, a visual
diff between two versions, upload and download of .bpmn/.dmn files, and drafts.

The editor's JavaScript is bundled by ``make setup`` (esbuild, from
``web/static/src/designer``) into ``web/static/build/designer`` — never committed.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import nav

bp = Blueprint("designer", __name__, url_prefix="/designer", template_folder="templates")

ROLES = ("designer",)  # administrators pass every role check (User.has_role)


@bp.before_request
def _designers_only() -> None:
    """Authorization for the whole area; authentication comes first (web.auth's gate)."""
    if not current_user.is_authenticated or not current_user.has_role(*ROLES):
        abort(403)


def init_app(app: Flask) -> None:
    from . import preview, views  # noqa: F401  (registers the routes on bp)

    app.register_blueprint(bp)
    nav.add(app, nav.Item("designer.index", _l("Process design"), roles=ROLES, order=70))
