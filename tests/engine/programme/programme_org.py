"""A small city for the process-model tests: two units imported from CSV, a login for every
official, the programme's runtime (lanes through the organisation, the register operators).

发展和改革委员会 (fgw) has posts at all three levels by rule, held by different officials, so
each level's chain of responsibility is a different pair of people:

========== =============== ======= ============ ===================== ==================
post       name            holder  level (rule) responsible            direct manager
========== =============== ======= ============ ===================== ==================
fgw-tzc-sp 项目审批岗        杨洋     1 审批权      wangjianguo (principal) zhangwei (deputy)
fgw-tzc-tj 统计岗           陈静     2 公共服务    zhangwei (deputy)       liming (head)
fgw-tzc-da 档案岗           赵磊     3            liming (head)           liming (head)
========== =============== ======= ============ ===================== ==================

财政局 (czj) has one post (预算审核岗, level 1), for the campaign's second unit. ``jiwei`` is the
city discipline commission (纪委), a login without an official.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import cache
from textwrap import dedent
from typing import Any

from sqlalchemy import select

from engine.actors import Actor
from engine.models import HumanTask, ProcessInstance, TaskState
from engine.parsing import read_sources
from engine.passwords import hash_password
from engine.programme.composition import programme_runtime
from engine.programme.services import org_import, organisation
from engine.runtime import Runtime
from engine.services import deployment, messages
from engine.services import tasks as tasks_service
from engine.settings import Settings
from tests.conftest import BPMN_DIR

from ..conftest import Driver

ORG_CSV = {
    "units.csv": """\
        code,name,principal_code,discipline_officer_code
        fgw,发展和改革委员会,o01,o04
        czj,财政局,o10,o13
        """,
    "officials.csv": """\
        code,name,unit_code
        o01,王建国,fgw
        o02,李明,fgw
        o03,张伟,fgw
        o04,刘芳,fgw
        o05,陈静,fgw
        o06,杨洋,fgw
        o07,赵磊,fgw
        o10,孙丽,czj
        o11,周强,czj
        o12,吴敏,czj
        o13,郑洁,czj
        o14,王小明,czj
        """,
    "departments.csv": """\
        code,unit_code,name,head_code,deputy_in_charge_code
        fgw-ld,fgw,委领导班子,o01,o03
        fgw-tzc,fgw,投资处,o02,o03
        czj-ysk,czj,预算科,o11,o12
        """,
    "posts.csv": """\
        code,department_code,name,holder_code,approval_power,key_resources,public_service
        fgw-tzc-sp,fgw-tzc,项目审批岗,o06,是,否,否
        fgw-tzc-tj,fgw-tzc,统计岗,o05,否,否,是
        fgw-tzc-da,fgw-tzc,档案岗,o07,否,否,否
        czj-ysk-sh,czj-ysk,预算审核岗,o14,否,是,否
        """,
}
ACCOUNTS = {"wangjianguo": "o01", "liming": "o02", "zhangwei": "o03", "liufang": "o04",
            "chenjing": "o05", "yangyang": "o06", "zhaolei": "o07", "sunli": "o10",
            "zhouqiang": "o11", "wumin": "o12", "zhengjie": "o13", "wangxiaoming": "o14"}
CITY_COMMISSION = "jiwei"
YEAR = 2011
#: post → (level by rule, holder, peer, responsible, direct manager) — login names.
CHAINS = {
    "fgw-tzc-sp": (1, "yangyang", "chenjing", "wangjianguo", "zhangwei"),
    "fgw-tzc-tj": (2, "chenjing", "zhaolei", "zhangwei", "liming"),
    "fgw-tzc-da": (3, "zhaolei", "yangyang", "liming", "liming"),
}
FGW_HEAD, FGW_OFFICER, FGW_PRINCIPAL = "liming", "liufang", "wangjianguo"


@cache
def _password_hash() -> str:
    return hash_password("test-password-2011")


def post_data(post_code: str, **extra: Any) -> dict[str, Any]:
    """Start data of a post cycle for one of the posts above (as org.unit_posts gives it)."""
    attributes = dict.fromkeys(
        ("principal_post", "approval_power", "enforcement_power", "key_resources", "livelihood",
         "general_economic", "social_affairs", "public_service"), False)
    department, unit = {"fgw-tzc-sp": ("fgw-tzc", "fgw"), "fgw-tzc-tj": ("fgw-tzc", "fgw"),
                        "fgw-tzc-da": ("fgw-tzc", "fgw"),
                        "czj-ysk-sh": ("czj-ysk", "czj")}[post_code]
    attributes.update({"fgw-tzc-sp": {"approval_power": True},
                       "fgw-tzc-tj": {"public_service": True},
                       "fgw-tzc-da": {},
                       "czj-ysk-sh": {"key_resources": True}}[post_code])
    return {"post_code": post_code, "department_code": department, "unit_code": unit,
            "year": YEAR, **attributes, **extra}


def risk(description: str, likelihood: str = "low", harm: str = "minor",
         category: str = "duty") -> dict[str, str]:
    return {"category": category, "description": description, "likelihood": likelihood,
            "harm": harm}


class City(Driver):
    """The engine-test driver plus who-is-who: act as a login, find tasks by instance."""

    def import_org(self) -> None:
        with self.rt.uow() as uow:
            org_import.import_csv(uow, {n: dedent(b).encode() for n, b in ORG_CSV.items()})
        for username, official in ACCOUNTS.items():
            with self.rt.uow() as uow:
                organisation.save_account(uow, username, password_hash=_password_hash(),
                                      official_code=official)
        with self.rt.uow() as uow:
            organisation.save_account(uow, CITY_COMMISSION, password_hash=_password_hash(),
                                  roles=frozenset({"discipline_commission"}))

    def deploy_models(self) -> None:
        with self.rt.uow() as uow:
            deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")

    def actor(self, username: str) -> Actor:
        with self.rt.uow(write=False) as uow:
            return organisation.actor_for(uow, username)

    def who_can_take(self, task: HumanTask) -> list[str]:
        """Every login for whom the task is claimable — the people it was routed to."""
        found = []
        for username in (*ACCOUNTS, CITY_COMMISSION):
            with self.rt.uow(write=False) as uow:
                actor = organisation.actor_for(uow, username)
                flt = tasks_service.TaskFilter("claimable", limit=1000)
                tasks, _ = tasks_service.list_tasks(uow, actor, flt)
            if any(t.id == task.id for t in tasks):
                found.append(username)
        return found

    def do(self, instance_id: int, element: str, username: str,
           data: dict[str, Any] | None = None) -> None:
        """Complete the one open ``element`` task of the instance as ``username``."""
        self.complete(self.task(instance_id, element).id, self.actor(username), data or {})

    def send(self, instance_id: int, name: str, payload: dict[str, Any],
             sender: str = "public") -> None:
        with self.rt.uow() as uow:
            messages.send_message(uow, instance_id, name, payload, Actor(sender))

    def children(self, parent_id: int) -> list[ProcessInstance]:
        with self.rt.uow(write=False) as uow:
            return list(uow.session.scalars(select(ProcessInstance).where(
                ProcessInstance.parent_instance_id == parent_id).order_by(ProcessInstance.id)))

    def by_key(self, process_id: str, key: str) -> ProcessInstance:
        with self.rt.uow(write=False) as uow:
            return messages.find_instance(uow, process_id, key)

    def open_task_rows(self, instance_id: int, element: str) -> list[HumanTask]:
        return [t for t in self.tasks(instance_id) if t.element_id == element]

    def completed_by(self, task_id: uuid.UUID) -> str | None:
        return self.get_task(task_id).completed_by

    def all_open(self) -> list[HumanTask]:
        with self.rt.uow(write=False) as uow:
            return list(uow.session.scalars(select(HumanTask).where(
                HumanTask.state == TaskState.OPEN).order_by(HumanTask.created_at,
                                                            HumanTask.element_id)))


def make_city(settings: Settings, at: datetime) -> tuple[Runtime, City]:
    """The programme's runtime on a migrated database, the clock at ``at``, the city
    imported and bpmn/ deployed; the caller closes the runtime."""
    rt = programme_runtime(settings)
    city = City(rt)
    city.set_clock(at)
    city.import_org()
    city.deploy_models()
    return rt, city


def seed_city(settings: Settings, at: datetime) -> None:
    """What ``make_city`` writes, for a template (``programme_town_world``)."""
    make_city(settings, at)[0].close()


def open_city(settings: Settings) -> tuple[Runtime, City]:
    """The programme's runtime on a database that holds the city already (a copy of
    ``programme_town_world``); the caller closes the runtime."""
    rt = programme_runtime(settings)
    return rt, City(rt)


#: The department 投资处's staff and head: a peer check (互相查) goes to all of them but the
#: post's holder (回避: colleagues check a post, not its holder).
FGW_TZC = ("liming", "chenjing", "yangyang", "zhaolei")
#: The element id of a multi-instance user task's instances (SpiffWorkflow names them so).
CORRECTION = "correct_shortfall [child]"
ASSESSMENT = {"score_information_monitoring": 85, "score_self_check": 90,
              "score_superior_inspection": 80, "score_social_evaluation": 75}


def expected_routes(post: str) -> dict[str, tuple[str, ...]]:
    """Who must receive each user task of the post's cycle, by the post's level."""
    level, holder, _peer, responsible, manager = CHAINS[post]
    peers = tuple(p for p in FGW_TZC if p != holder)
    routes = {"self_identified": (holder,), "peer_checked": peers,
              "leader_pointed": (FGW_HEAD,), "organization_reviewed": (FGW_OFFICER,),
              "review": (manager,), "prevention": (responsible,), "monitoring": (manager,),
              "self_check": (holder,), "assessment": (FGW_OFFICER,), CORRECTION: (holder,)}
    if level == 1:
        routes["integrity_talk"] = (FGW_PRINCIPAL,)
    return routes


class Recorder:
    """Completes tasks as the given user and notes who each task was routed to."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.routes: dict[str, set[str]] = {}

    def do(self, instance_id: int, element: str, username: str,
           data: dict[str, Any] | None = None) -> None:
        for task in self.city.open_task_rows(instance_id, element)[:1]:
            self.routes.setdefault(element, set()).update(self.city.who_can_take(task))
            self.city.complete(task.id, self.city.actor(username), data or {})
            return
        raise AssertionError(f"no open {element} in {self.city.open_elements(instance_id)}")

    def each(self, instance_id: int, element: str, username: str,
             data: dict[str, Any]) -> int:
        done = 0
        while self.city.open_task_rows(instance_id, element):
            self.do(instance_id, element, username, data)
            done += 1
        return done


def discover(rec: Recorder, iid: int, post: str) -> None:
    """The four discovery methods with risks that leave the post at its rule level."""
    _level, holder, peer, _responsible, _manager = CHAINS[post]
    rec.do(iid, "self_identified", holder,
           {"risks": [risk(f"{post}:办事程序公开不及时", category="process")]})
    rec.do(iid, "peer_checked", peer, {"risks": []})
    rec.do(iid, "leader_pointed", FGW_HEAD,
           {"risks": [risk(f"{post}:台账登记不全", category="institutional")]})
    rec.do(iid, "organization_reviewed", FGW_OFFICER, {"risks": []})


def run_post_cycle(city: City, iid: int, post: str, shortfalls: int = 1) -> dict[str, set[str]]:
    """Drive one fgw post's cycle from discovery to its end on the simulated clock, each task
    completed by the person it must go to; returns who each task was routed to."""
    level, holder, _peer, responsible, manager = CHAINS[post]
    rec = Recorder(city)
    discover(rec, iid, post)
    rec.do(iid, "review", manager, {"approved": True, "review_comment": "同意"})
    [publicity] = city.timers(iid)
    city.advance_to(publicity.due_at)
    rec.do(iid, "prevention", responsible,
           {"measures": [{"description": "办事程序和时限对外公开", "due_in_days": 30}]})
    if level == 1:
        rec.do(iid, "integrity_talk", FGW_PRINCIPAL, {"talk_summary": "严守审批纪律"})
    city.advance_to(city.now() + timedelta(days=370))  # the year's quarterly self-checks
    assert rec.each(iid, "self_check", holder, {"self_check_report": "按季自查,未发现问题"}) == 4
    rec.do(iid, "monitoring", manager, {"monitoring_report": "全年未发现苗头性、倾向性问题"})
    rec.do(iid, "assessment", FGW_OFFICER,
           {**ASSESSMENT, "shortfalls": [f"问题{i + 1}" for i in range(shortfalls)]})
    assert rec.each(iid, CORRECTION, holder, {"correction": "已整改"}) == shortfalls
    return rec.routes


def element_data(city: City, instance_id: int, element: str) -> dict[str, Any]:
    """The data of the latest completed run of ``element`` (embedded subprocesses included),
    read from the stored state: what that step saw and produced."""
    from SpiffWorkflow.util.task import TaskState as SpiffState

    from engine.execution.checkout import load_definition
    from engine.execution.workflow import all_tasks
    from engine.serialization import load_state

    instance = city.instance(instance_id)
    with city.rt.uow(write=False) as uow:
        bundle = load_definition(uow, instance.definition_id).bundle
    workflow = load_state(instance.state, bundle, city.rt.script_engine)
    runs = [t for t in all_tasks(workflow)
            if t.task_spec.name == element and t.state == SpiffState.COMPLETED]
    assert runs, f"{element} has not run"
    return dict(max(runs, key=lambda t: t.last_state_change).data)
