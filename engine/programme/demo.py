"""Loading the demo city (``irpm demo load``): the generated organisation, an account per
official, the simulated clock, and — if asked — the city's campaign.

Loading goes through ``import_organisation`` — the same all-or-nothing checks a real city's
file passes — then one account per official (the shared demo password is hashed once) and
the simulated clock at the programme's first working day, 2011-01-04 09:00 Beijing time.
Loading again changes nothing and says so. What is loaded is ``engine.programme.demo_city``'s
city for the seed.

With the campaign (what ``make run`` asks for) the demo is a city on its first day at work:
the campaign is held to a launch on 2011-03-01 — the document's own "2011年3月1日,我市专门
召开推进会议", the date the rehearsal uses too — so the clock stands before every milestone and
nothing is overdue; and with ``mobilise`` the city commission (``jiwei``) has done 广泛宣传发动
and its background job has started every unit's and post's cycle, so each demo login finds a
task waiting at first sign-in instead of an empty inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import UnitOfWork
from ..models import HumanTask, ProcessInstance, TaskState
from ..passwords import hash_password, verify_password
from ..services import clock
from ..services.deployment import latest_definition
from ..services.instances import start_instance
from ..services.jobs import run_pending_jobs
from ..services.tasks import complete_task
from .demo_city import DEFAULT_SEED, City, DemoAccount, DemoLogin, generate_city
from .grading import post_rule_level
from .models import Account
from .services.org_import import ImportReport, import_organisation
from .services.organisation import actor_for, save_account

if TYPE_CHECKING:
    from ..runtime import Runtime

DEFAULT_PASSWORD = "irpm-demo-2011"
CHINA = timezone(timedelta(hours=8))
#: The programme's first working day in 2011 (Tuesday), 09:00 Beijing time.
DEMO_START = datetime(2011, 1, 4, 9, 0, tzinfo=CHINA)
CAMPAIGN_PROCESS = "campaign"
CAMPAIGN_KEY = "campaign-2011"
#: The launch the demo's campaign is held to: "2011年3月1日,我市专门召开推进会议" (the
#: programme's 2010-12-31 launch lies before the demo's clock, which would make every unit
#: late and card every principal on the first screen).
DEMO_MILESTONES = {"launch": "2011-03-01"}
#: The city commission's demo login, who does 广泛宣传发动 when the load mobilises.
COMMISSION_LOGIN = "jiwei"
MOBILISATION_TASK = "mobilization"
#: What the commission answers in 广泛宣传发动 when the demo load mobilises.
MOBILISATION_ANSWER = {"mobilization_notice": "召开全市廉政风险防范管理工作动员部署会议(演示数据)",
                       "mobilization_meeting": "2011年3月1日推进会议"}


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    units: int
    departments: int
    posts: int
    officials: int
    accounts: int
    #: Posts per level by the post rule alone (the latest deployed post_grading.dmn, through
    #: ``engine.programme.grading.post_rule_level``; risk points may raise a level later).
    levels: dict[int, int]
    #: The organisation import's report: created / updated / unchanged rows.
    organisation: dict[str, int]
    #: Accounts created / updated / unchanged.
    logins: dict[str, int]
    clock: datetime
    campaign_instance_id: int | None
    #: Whether this load did 广泛宣传发动 (False: not asked, or done before).
    mobilised: bool
    notes: tuple[str, ...]
    demo_logins: tuple[DemoLogin, ...]

    @property
    def changed(self) -> bool:
        return bool(self.organisation["created"] or self.organisation["updated"]
                    or self.logins["created"] or self.logins["updated"])

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "units": self.units, "departments": self.departments,
                "posts": self.posts, "officials": self.officials, "accounts": self.accounts,
                "levels": {str(k): v for k, v in self.levels.items()},
                "organisation": self.organisation, "logins": self.logins,
                "clock": self.clock, "campaign_instance_id": self.campaign_instance_id,
                "mobilised": self.mobilised,
                "notes": list(self.notes),
                "demo_logins": [{"username": d.username, "role": d.role, "unit": d.unit,
                                 "name": d.name, "post": d.post} for d in self.demo_logins]}


Say = Callable[[str], None]


#: The phases of a load, in order, as ``load_demo_city`` reports them to ``progress``.
LOAD_PHASES = ("clock", "organisation", "accounts", "campaign", "mobilisation")


def load_demo_city(target: Runtime | UnitOfWork, seed: int = DEFAULT_SEED,
                   password: str = DEFAULT_PASSWORD, *, start_campaign: bool = False,
                   mobilise: bool = False, say: Say | None = print,
                   progress: Say | None = None) -> DemoSummary:
    """Load (or refresh) the demo city; see the module docstring.

    ``target`` is a runtime (a unit of work is opened for the load) or an open unit of work
    (each service commits in it). ``start_campaign`` starts the deployed ``campaign``
    process for 2011 over every unit — once, held to ``DEMO_MILESTONES``; without a deployed
    ``campaign`` it only notes so. ``mobilise`` (with ``start_campaign``) then completes its
    广泛宣传发动 as ``jiwei`` if still open and runs the background job that starts the
    cycles (about 600 instances: seconds, not minutes). Notes also go to ``say`` (``None``:
    keep them in the summary only); ``progress`` is told each phase of ``LOAD_PHASES`` as it
    ends (the CLI's progress bar).
    """
    if isinstance(target, UnitOfWork):
        return _load(target, seed, password, start_campaign, mobilise, say, progress)
    with target.uow() as uow:
        return _load(uow, seed, password, start_campaign, mobilise, say, progress)


def _load(uow: UnitOfWork, seed: int, password: str, start_campaign: bool, mobilise: bool,
          say: Say | None, progress: Say | None) -> DemoSummary:
    password_hash = hash_password(password)  # validates it; scrypt once for every account
    city = generate_city(seed)
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if say is not None:
            say(text)

    done = progress or (lambda _phase: None)
    at = _set_clock(uow, note)
    done("clock")
    report: ImportReport = import_organisation(uow, city.tables())
    done("organisation")
    logins = _save_accounts(uow, city.accounts, password, password_hash)
    done("accounts")
    instance_id = _start_campaign(uow, city, note) if start_campaign else None
    done("campaign")
    mobilised = (_mobilise(uow, instance_id, note)
                 if mobilise and instance_id is not None else False)
    done("mobilisation")
    return DemoSummary(
        seed=seed, units=len(city.units), departments=len(city.departments),
        posts=len(city.posts), officials=len(city.officials), accounts=len(city.accounts),
        levels=city.levels(lambda attributes: post_rule_level(uow, attributes)),
        organisation=report.counts(), logins=logins, clock=at,
        campaign_instance_id=instance_id, mobilised=mobilised, notes=tuple(notes),
        demo_logins=tuple(city.logins))


def _set_clock(uow: UnitOfWork, note: Callable[[str], None]) -> datetime:
    """The simulated clock at 2011-01-04 09:00 — unless a rehearsal has already moved it on
    (the clock never goes back; timers and history would stop making sense)."""
    if clock.is_simulated(uow) and clock.now(uow) > DEMO_START:
        now = clock.now(uow)
        note(f"the simulated clock already reads {now.astimezone(CHINA).isoformat()}, later "
             f"than {DEMO_START.isoformat()}; left as it is")
        return now
    clock.set_clock(uow, DEMO_START)
    uow.commit()
    return DEMO_START


def _save_accounts(uow: UnitOfWork, accounts: list[DemoAccount], password: str,
                   password_hash: str) -> dict[str, int]:
    """Every demo account through ``save_account``, skipping those already as they should be.
    A stored hash is checked once per distinct hash (they are shared), not once per account."""
    existing = {a.username: a for a in uow.session.scalars(
        select(Account).options(selectinload(Account.role_rows),
                                selectinload(Account.official)))}
    matches: dict[str, bool] = {}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for demo in accounts:
        account = existing.get(demo.username)
        if account is None:
            save_account(uow, demo.username, password_hash=password_hash,
                         official_code=demo.official_code, roles=frozenset(demo.roles))
            counts["created"] += 1
            continue
        if account.password_hash not in matches:
            matches[account.password_hash] = verify_password(account.password_hash, password)
        same_password = matches[account.password_hash]
        linked = account.official.code if account.official is not None else None
        if (same_password and linked == demo.official_code and account.active
                and account.roles == frozenset(demo.roles)):
            counts["unchanged"] += 1
            continue
        save_account(uow, demo.username, password_hash=None if same_password else password_hash,
                     official_code=demo.official_code, roles=frozenset(demo.roles), active=True)
        counts["updated"] += 1
    return counts


def _start_campaign(uow: UnitOfWork, city: City, note: Callable[[str], None]) -> int | None:
    """The hook for the city's programme: ``campaign`` for 2011 over every unit, started once
    (business key ``campaign-2011``)."""
    if latest_definition(uow, CAMPAIGN_PROCESS) is None:
        note(f"the '{CAMPAIGN_PROCESS}' process is not deployed; the campaign was not started "
             "(deploy it, then load again with the campaign)")
        return None
    running = uow.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.process_id == CAMPAIGN_PROCESS,
        ProcessInstance.business_key == CAMPAIGN_KEY).order_by(ProcessInstance.id).limit(1))
    if running is not None:
        note(f"the campaign '{CAMPAIGN_KEY}' was already started (instance {running})")
        return running
    instance = start_instance(uow, CAMPAIGN_PROCESS, CAMPAIGN_KEY,
                              {"year": 2011, "units": [u["code"] for u in city.units],
                               "milestones": dict(DEMO_MILESTONES)})
    return instance.id


def _mobilise(uow: UnitOfWork, campaign_id: int, note: Callable[[str], None]) -> bool:
    """广泛宣传发动 done by the commission through ``complete_task`` — as ``jiwei`` would in the
    browser — and the background job it queued run to its end, as the scheduler would before
    anyone signs in. Done once: a campaign past it is left alone."""
    task_id = uow.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == campaign_id, HumanTask.element_id == MOBILISATION_TASK,
        HumanTask.state == TaskState.OPEN).limit(1))
    if task_id is None:
        note(f"the campaign '{CAMPAIGN_KEY}' has no open {MOBILISATION_TASK} task "
             "(mobilised already); left as it is")
        return False
    complete_task(uow, task_id, actor_for(uow, COMMISSION_LOGIN), dict(MOBILISATION_ANSWER))
    run_pending_jobs(uow)
    return True


__all__ = ["CAMPAIGN_KEY", "CAMPAIGN_PROCESS", "COMMISSION_LOGIN", "DEFAULT_PASSWORD",
           "DEMO_MILESTONES", "DEMO_START", "DemoSummary", "load_demo_city"]
