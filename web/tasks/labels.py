"""Labels of the risk register's codes (类别, 查找方式, 几率, 危害, 等级, 状态), added to the
``label`` filter's tables by ``web.tasks.init_app``: ``{{ point.found_by|label('found_by') }}``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

RISK_CATEGORIES = {"duty": _l("Duty risk"), "process": _l("Business process risk"),
                   "institutional": _l("Institutional risk"),
                   "external": _l("External environment risk")}
FOUND_BY = {
    "self_identified": _l("Found by oneself"), "public_suggested": _l("Raised by the public"),
    "peer_checked": _l("Checked by colleagues"), "leader_pointed": _l("Pointed out by leaders"),
    "organization_reviewed": _l("Reviewed by the organisation"),
    "complaint": _l("Complaint or report"), "financial_audit": _l("Financial audit"),
    "enforcement_inspection": _l("Enforcement inspection"),
    "questionnaire": _l("Questionnaire"),
}
LIKELIHOODS = {"high": _l("High likelihood"), "fairly_high": _l("Fairly high likelihood"),
               "low": _l("Low likelihood")}
HARMS = {"crime": _l("May be a crime"), "disciplinary": _l("May lead to disciplinary action"),
         "minor": _l("Bad influence or some economic loss")}
LEVELS = {"1": _l("Level 1"), "2": _l("Level 2"), "3": _l("Level 3")}
RISK_STATUSES = {"identified": _l("Identified"), "graded": _l("Graded"),
                 "published": _l("Published"), "controlled": _l("Controlled"),
                 "closed": _l("Closed")}

TABLES: dict[str, dict[str, Any]] = {
    "risk_category": RISK_CATEGORIES, "found_by": FOUND_BY, "likelihood": LIKELIHOODS,
    "harm": HARMS, "level": LEVELS, "risk_status": RISK_STATUSES,
}
