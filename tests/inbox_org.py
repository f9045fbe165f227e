"""A small organisation for inbox tests (web and engine): 财政局 with 办公室 and 预算科, and
发展和改革委员会 with 办公室; an account per official (password ``PASSWORD``), ``admin`` and
``jiwei`` (the city's discipline commission); tasks from ``web/fixtures/inbox_cycle.bpmn`` —
a post holder's task due in 10 days, then the department head's review — whose lanes resolve
through the organisation (``post_holder`` → ``post:<code>``, ``department_head`` →
``department_head:<dept>``), as the programme's do."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from engine.models import HumanTask, TaskState
from engine.parsing import read_sources
from engine.programme.directory import OrgDirectory
from engine.programme.orgfile import read_csv, write_csv
from engine.programme.routing import org_resolver
from engine.programme.services import org_import, organisation
from engine.programme.task_columns import OrgTaskColumns
from engine.runtime import Runtime
from engine.services import clock, deployment, instances, tasks
from engine.settings import Settings

PASSWORD = "irpm-web-test-1"
INBOX_CYCLE = Path(__file__).parent / "web" / "fixtures" / "inbox_cycle.bpmn"
CHINA = timezone(timedelta(hours=8))
T0 = datetime(2011, 1, 4, 9, 0, tzinfo=CHINA)


def _unit(code: str, name: str, people: list[tuple[str, str]], departments: list[
        tuple[str, str, str, str, list[tuple[str, str]]]]) -> dict[str, list[dict[str, Any]]]:
    """One unit's rows: people (code, name) — ``-0001`` is the principal, ``-0004`` the
    discipline officer — and departments (code, name, head, deputy in charge, posts)."""
    return {
        "units": [{"code": code, "name": name, "principal_code": f"{code}-0001",
                   "discipline_officer_code": f"{code}-0004"}],
        "officials": [{"code": c, "name": n, "unit_code": code} for c, n in people],
        "departments": [{"code": d, "unit_code": code, "name": dn, "head_code": head,
                         "deputy_in_charge_code": deputy}
                        for d, dn, head, deputy, _ in departments],
        "posts": [{"code": p, "department_code": d, "name": pn, "holder_code": holder}
                  for d, _, _, _, posts in departments
                  for i, (pn, holder) in enumerate(posts, start=1)
                  for p in [f"{d}-{i:02d}"]],
    }


CZJ = _unit("CZJ", "财政局", [
    ("CZJ-0001", "高春勇"), ("CZJ-0002", "张学勇"), ("CZJ-0004", "郭少颖"), ("CZJ-0009", "孟涛"),
    ("CZJ-0011", "向永浩"), ("CZJ-0012", "李文静"), ("CZJ-0020", "周强"), ("CZJ-0021", "王晓明"),
], [
    ("CZJ-LDBZ", "领导班子", "CZJ-0001", "CZJ-0002",
     [("局长", "CZJ-0001"), ("常务副局长", "CZJ-0002"), ("纪检组长", "CZJ-0004")]),
    ("CZJ-BGS", "办公室", "CZJ-0009", "CZJ-0002",
     [("办公室主任", "CZJ-0009"), ("科员（文秘）", "CZJ-0011"), ("科员（档案管理）", "CZJ-0012")]),
    ("CZJ-YSK", "预算科", "CZJ-0020", "CZJ-0002",
     [("预算科科长", "CZJ-0020"), ("科员（部门预算编制）", "CZJ-0021")]),
])
FGW = _unit("FGW", "发展和改革委员会", [
    ("FGW-0001", "王建国"), ("FGW-0004", "刘芳"), ("FGW-0009", "李明"), ("FGW-0011", "赵丽"),
], [
    ("FGW-LDBZ", "领导班子", "FGW-0001", "FGW-0001",
     [("主任", "FGW-0001"), ("纪检组长", "FGW-0004")]),
    ("FGW-BGS", "办公室", "FGW-0009", "FGW-0001",
     [("办公室主任", "FGW-0009"), ("科员（文秘）", "FGW-0011")]),
])


def load_org(rt: Runtime, password_hash: str) -> None:
    rows = {kind: CZJ[kind] + FGW[kind] for kind in CZJ}
    with rt.uow() as uow:
        clock.set_clock(uow, T0)
        uow.commit()
        org_import.import_organisation(uow, read_csv(write_csv(rows)))
        for official in rows["officials"]:
            organisation.save_account(uow, official["code"].lower(), password_hash=password_hash,
                                  official_code=official["code"], roles={"staff"})
        organisation.save_account(uow, "admin", password_hash=password_hash, roles={"admin"})
        organisation.save_account(uow, "jiwei", password_hash=password_hash,
                              roles={"discipline_commission"})


class Org:
    """The test organisation with bpmn/ deployed, and helpers to give people tasks."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def start(self, post_code: str, key: str | None = None, *, by: str = "admin") -> int:
        """An inbox cycle for ``post_code``: its holder gets 查找廉政风险 (discovery)."""
        with self.rt.uow(write=False) as uow:
            post = organisation.get_post(uow, post_code)
            department, unit = post.department.code, post.department.unit.code
            data = {"post_code": post_code, "department_code": department, "unit_code": unit}
        with self.rt.uow() as uow:
            return instances.start_instance(uow, "inbox_cycle", key or f"2011-{post_code}",
                                           data, actor=organisation.actor_for(uow, by)).id

    def open_task(self, instance_id: int) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            [task] = uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.state == TaskState.OPEN))
            return task

    def task(self, task_id: uuid.UUID) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            return tasks.get_task(uow, task_id)

    def claim(self, task_id: uuid.UUID, username: str) -> None:
        with self.rt.uow() as uow:
            tasks.claim_task(uow, task_id, organisation.actor_for(uow, username))

    def complete(self, task_id: uuid.UUID, username: str) -> None:
        with self.rt.uow() as uow:
            tasks.complete_task(uow, task_id, organisation.actor_for(uow, username), {})

    def set_clock(self, at: datetime) -> None:
        with self.rt.uow() as uow:
            clock.set_clock(uow, at)
            uow.commit()

    def events(self, instance_id: int) -> list[Any]:
        with self.rt.uow(write=False) as uow:
            return instances.instance_events(uow, instance_id)


#: werkzeug's scrypt at a work factor of 2**10 instead of ``engine.passwords``' 2**15.
TEST_SCRYPT = "scrypt:1024:8:1"


@cache
def shared_password_hash() -> str:
    """``PASSWORD``'s hash, for every account of the organisation: a salted scrypt hash in
    werkzeug's format, as ``engine.passwords.hash_password`` makes, but at a work factor 32
    times lower — the hundreds of sign-ins of the web tests go through the same
    ``verify_password`` (which reads the parameters from the hash) in a few milliseconds
    each instead of a tenth of a second. The password's own tests (hashing, policy, the
    decoy for unknown names) use the real parameters."""
    return generate_password_hash(PASSWORD, method=TEST_SCRYPT)


def org_runtime(settings: Settings, password_hash: str) -> Org:
    """A runtime routing lanes through the organisation, knowing its people (the directory)
    and naming its units and posts in task lists — the programme's runtime without its
    operators and notifications — with the organisation loaded and the inbox cycle
    deployed; the caller closes ``org.rt``."""
    rt = _runtime(settings)
    load_org(rt, password_hash)
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([INBOX_CYCLE]), deployed_by="tests")
    return Org(rt)


def seed_org(settings: Settings) -> None:
    """What ``org_runtime`` writes, for a template (``inbox_org_world``)."""
    org_runtime(settings, shared_password_hash()).rt.close()


def open_org(settings: Settings) -> Org:
    """The organisation on a database that holds it already (a copy of ``inbox_org_world``),
    with a runtime of its own routing lanes through it; the caller closes ``org.rt``."""
    return Org(_runtime(settings))


def _runtime(settings: Settings) -> Runtime:
    """Lanes routed through the organisation, its people as the directory, its names in
    task lists: the programme's runtime without its operators and notifications."""
    return Runtime(settings, resolver=org_resolver, directory=OrgDirectory(),
                   task_columns=OrgTaskColumns())
