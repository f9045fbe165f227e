"""The organisation: units → departments → posts, the officials who hold them, their logins.

The source finds risks "从单位、内设机构、岗位'三个层次'" (at the three tiers: unit, department,
post), and routes responsibility by leadership: "对确定为一级廉政风险等级的,在单位分管领导直接管理的
基础上,由单位主要领导负责;……二级……在内设机构领导直接管理的基础上,由单位分管领导负责;……三级……由
内设机构领导直接管理和负责". So every unit names its principal (单位主要领导, 正职), every
department names its head (内设机构领导) and the deputy in charge who oversees it (分管领导), and
each post carries the attributes the post-grading rule reads.

Units and officials refer to each other (an official works in a unit; a unit's principal is an
official), so the unit → official keys are added after both tables exist (``use_alter``) and
written after the officials (``post_update``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...models.base import Base, UtcDateTime
from ...passwords import hash_password, verify_password


class Role(StrEnum):
    """Roles for access (issue 3). A person may hold several; leadership roles are also implied
    by the positions an official holds (see
    ``engine.programme.services.organisation.groups_of``)."""

    STAFF = "staff"
    DEPARTMENT_HEAD = "department_head"
    DEPUTY_IN_CHARGE = "deputy_in_charge"
    PRINCIPAL = "principal"
    #: 纪委 / 纪检监察: "runs and monitors the programme".
    DISCIPLINE_COMMISSION = "discipline_commission"
    DESIGNER = "designer"
    ADMIN = "admin"


#: The eight post attributes the post-grading rule reads, in the source's order (一级: 单位领导班子
#: 正职岗位 … 人事、财务、物资、采购、基建等管理的岗位; 二级: 一般经济管理、社会事务管理、公共服务).
POST_ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power", "key_resources",
                   "livelihood", "general_economic", "social_affairs", "public_service")


class Unit(Base):
    """单位: a public body, the top of the three tiers.

    One principal per unit is structural (a single column): the source speaks of "单位领导班子
    正职岗位" and "由单位主要领导负责" — one head answers for level-1 risks. The discipline officer
    runs "组织评" (organisation review) for the unit on behalf of the discipline commission.
    """

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    #: Nullable only so a unit and its officials can be inserted in one flush; the import and
    #: services always require a principal.
    principal_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", use_alter=True, ondelete="SET NULL"))
    discipline_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", use_alter=True, ondelete="SET NULL"))

    principal: Mapped[Official | None] = relationship(
        foreign_keys=[principal_id], post_update=True)
    discipline_officer: Mapped[Official | None] = relationship(
        foreign_keys=[discipline_officer_id], post_update=True)
    departments: Mapped[list[Department]] = relationship(
        back_populates="unit", order_by="Department.code")
    officials: Mapped[list[Official]] = relationship(
        back_populates="unit", foreign_keys="Official.unit_id", order_by="Official.code")


class Official(Base):
    """公职人员: a person working in a unit; may hold posts and leadership positions."""

    __tablename__ = "official"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    unit: Mapped[Unit] = relationship(back_populates="officials", foreign_keys=[unit_id])
    account: Mapped[Account | None] = relationship(back_populates="official")


class Department(Base):
    """内设机构: an internal department. Its head "直接管理" all its posts' risks; the deputy in
    charge (分管领导) oversees it and answers for its level-2 risks."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), index=True)
    deputy_in_charge_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), index=True)

    unit: Mapped[Unit] = relationship(back_populates="departments")
    head: Mapped[Official | None] = relationship(foreign_keys=[head_id])
    deputy_in_charge: Mapped[Official | None] = relationship(foreign_keys=[deputy_in_charge_id])
    posts: Mapped[list[Post]] = relationship(back_populates="department", order_by="Post.code")


class Post(Base):
    """岗位: where risks are found and graded ("以岗位为点"). The booleans are the facts the
    source grades a post by; see ``POST_ATTRIBUTES``."""

    __tablename__ = "post"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), index=True)
    #: 单位领导班子正职岗位 → level 1.
    principal_post: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 具有行政审批权……的岗位 → level 1.
    approval_power: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 具有……执法权的岗位 → level 1.
    enforcement_power: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 从事人事、财务、物资、采购、基建等管理的岗位 → level 1.
    key_resources: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 与经济发展和人民群众生产生活密切相关的岗位 → level 1.
    livelihood: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 具有一般经济管理……职能的岗位 → level 2.
    general_economic: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ……社会事务管理……职能的岗位 → level 2.
    social_affairs: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ……公共服务等职能的岗位 → level 2.
    public_service: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(back_populates="posts")
    holder: Mapped[Official | None] = relationship()

    def attributes(self) -> dict[str, bool]:
        """The grading inputs, named as the post-grading decision table expects them."""
        return {name: bool(getattr(self, name)) for name in POST_ATTRIBUTES}


class Account(Base):
    """A login. Linked to at most one official (officials without a login and logins without
    an official — e.g. a designer or the city discipline commission's staff — both exist)."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    official_id: Mapped[int | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), unique=True)
    #: werkzeug's scrypt hash; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Written into every session cookie at sign-in and compared on every request: signing
    #: out, a password change and an administrator's "sign out everywhere" add one, so every
    #: cookie issued before — saved, copied or stolen — stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    official: Mapped[Official | None] = relationship(back_populates="account")
    role_rows: Mapped[list[AccountRole]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="AccountRole.role")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def set_roles(self, roles: set[str] | frozenset[str]) -> None:
        keep = [r for r in self.role_rows if r.role in roles]
        have = {r.role for r in keep}
        self.role_rows = keep + [AccountRole(role=r) for r in sorted(set(roles) - have)]

    def set_password(self, password: str, at: datetime) -> None:
        self.password_hash = hash_password(password)
        self.password_changed_at = at
        self.end_sessions()

    def end_sessions(self) -> None:
        """End every session of the account (see ``session_version``)."""
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)


class AccountRole(Base):
    """One role of an account ("a person may hold several roles")."""

    __tablename__ = "account_role"
    __table_args__ = (
        CheckConstraint("role IN ({})".format(", ".join(f"'{r.value}'" for r in Role)),
                        name="known"),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
