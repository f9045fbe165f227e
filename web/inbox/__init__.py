"""The inbox (待办): 我的待办, 待认领, 已办, 我参与的, with claim, unclaim and delegate."""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from .. import nav

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates")

#: The task views, in tab order, with their labels (glossary terms in Chinese).
VIEWS = {"mine": _l("My tasks"), "claimable": _l("To claim"), "done": _l("Done")}
INVOLVED = _l("Involved")
#: Administrators also see every task (全部任务).
ALL = _l("All tasks")
ADMIN_ONLY = ("admin",)


def _home() -> Response:
    return redirect(url_for("inbox.tasks", view="mine"))


def init_app(app: Flask) -> None:
    from . import actions, views  # noqa: F401  (register the routes on bp)

    app.register_blueprint(bp)
    app.add_url_rule("/", "index", _home)
    for order, (view, label) in enumerate(VIEWS.items(), start=10):
        nav.add(app, nav.Item("inbox.tasks", label, order=order, values=(("view", view),),
                              count=view if view != "done" else None))
    nav.add(app, nav.Item("inbox.involved", INVOLVED, order=13))
    nav.add(app, nav.Item("inbox.tasks", ALL, order=14, values=(("view", "all"),),
                          roles=ADMIN_ONLY))
