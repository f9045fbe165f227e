"""The integrity programme's models: the organisation (units, departments, posts, officials
and their logins), the risk register, the milestone plans and reports, and public feedback.
They share the runtime's ``Base`` (one metadata, one Alembic history)."""

from .feedback import Feedback
from .institution import Institution, InstitutionRecord
from .milestone import Milestone, MilestonePlan, MilestoneReport
from .org import POST_ATTRIBUTES, Account, AccountRole, Department, Official, Post, Role, Unit
from .register import (
    ControlMeasure,
    FoundBy,
    Harm,
    Likelihood,
    MeasureKind,
    MeasureStatus,
    PostGrading,
    RegisterChange,
    RegisterEntity,
    RiskCategory,
    RiskPoint,
    RiskStatus,
)

__all__ = [
    "POST_ATTRIBUTES",
    "Account",
    "AccountRole",
    "ControlMeasure",
    "Department",
    "Feedback",
    "FoundBy",
    "Harm",
    "Institution",
    "InstitutionRecord",
    "Likelihood",
    "MeasureKind",
    "MeasureStatus",
    "Milestone",
    "MilestonePlan",
    "MilestoneReport",
    "Official",
    "Post",
    "PostGrading",
    "RegisterChange",
    "RegisterEntity",
    "RiskCategory",
    "RiskPoint",
    "RiskStatus",
    "Role",
    "Unit",
]
