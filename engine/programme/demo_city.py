"""The demo city (示范城市): twelve bureaus of one city, ready to rehearse the 2011 programme.

The source's city put the programme into every body at once — "2010年底前启动廉政风险防范管理
工作;2011年6月,在全市所有部门和单位推开" — so the demo is a whole city: 12 units (单位), six
internal departments (内设机构) each including the leadership team (领导班子), eight posts (岗位)
per department, one official (公职人员) per post and a login for every official. Posts carry
the attributes the post-grading rule reads ("单位领导班子正职岗位……具有行政审批权和执法权的岗位,
从事人事、财务、物资、采购、基建等管理的岗位,应确定为一级廉政风险;具有一般经济管理、社会事务管理、
公共服务等职能的岗位,应确定为二级廉政风险"), set from what each post does, so the city shows a
realistic mix of the three levels.

Leadership follows the routing rules: every unit has its principal ("由单位主要领导负责"), two or
three deputies in charge who each oversee named departments ("单位分管领导直接管理 / 负责"), a
head for every department ("内设机构领导直接管理和负责") and a discipline officer (纪检组长), who
runs "组织评" for the unit.

Generation is plain Python and deterministic: one ``random.Random(seed)`` draws names, the
number of deputies and who oversees what, so the same seed gives the same city and a
byte-identical export. Loading goes through ``import_organisation`` — the same all-or-nothing
checks a real city's file passes — then one account per official (the shared demo password
is hashed once) and the simulated clock at the programme's first working day, 2011-01-04 09:00
Beijing time. Loading again changes nothing and says so.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import UnitOfWork
from ..models import ProcessInstance
from ..passwords import hash_password, verify_password
from ..services import clock
from ..services.deployment import latest_definition
from ..services.instances import start_instance
from .grading import post_rule_level
from .models import Account, Role
from .orgfile import Tables, read_csv, write_csv
from .services.org_import import ImportReport, import_organisation
from .services.organisation import save_account

if TYPE_CHECKING:
    from ..runtime import Runtime

DEFAULT_SEED = 2011
DEFAULT_PASSWORD = "irpm-demo-2011"
CHINA = timezone(timedelta(hours=8))
#: The programme's first working day in 2011 (Tuesday), 09:00 Beijing time.
DEMO_START = datetime(2011, 1, 4, 9, 0, tzinfo=CHINA)
CAMPAIGN_PROCESS = "campaign"
CAMPAIGN_KEY = "campaign-2011"
#: The unit whose leaders get the documented demo logins (财政局).
SHOWCASE_UNIT = "CZJ"

# ----------------------------------------------------------------------------- catalogue
#
# Flags name the post attributes a post's work gives it:
#   P principal_post · A approval_power · E enforcement_power · K key_resources
#   L livelihood → level 1;  G general_economic · S social_affairs · U public_service → 2;
#   no flag → 3.

FLAGS = {"P": "principal_post", "A": "approval_power", "E": "enforcement_power",
         "K": "key_resources", "L": "livelihood", "G": "general_economic",
         "S": "social_affairs", "U": "public_service"}
FUNCTIONS_PER_DEPARTMENT = 6  # + head and deputy head: 8 posts


@dataclass(frozen=True)
class DepartmentKind:
    abbr: str  #: code suffix (pinyin initials), e.g. ``YSK`` for 预算科
    name: str
    functions: tuple[tuple[str, str], ...]  #: (科员's function, flags)
    head: str = "科长"


def _kind(abbr: str, name: str, functions: str, head: str = "科长") -> DepartmentKind:
    """``functions`` is ``"文秘 综合协调 后勤保障:K …"`` — a name, then ``:flags`` if any."""
    pairs = tuple((f.partition(":")[0], f.partition(":")[2]) for f in functions.split())
    return DepartmentKind(abbr, name, pairs, head)


OFFICE = _kind("BGS", "办公室", "文秘 综合协调 督查督办 机要保密 档案管理 政务公开:U "
               "后勤保障:K 公务接待:K", head="主任")
# 从事人事、财务、物资、采购、基建等管理的岗位 → K.
_PERSONNEL = "干部任免:K 公务员管理:K 工资福利:K 机构编制:K 人事档案 教育培训:U 离退休干部服务:U"
_FINANCE = "会计核算:K 出纳:K 国有资产管理:K 政府采购:K 基建财务:K 财务分析:G 内部审计 统计报表:G"
_LAW = ("规范性文件审查 行政复议:S 行政应诉 法制宣传:U 执法监督:E 行政许可审核:A "
        "合法性审查")


def personnel(abbr: str = "RSK", name: str = "人事科") -> DepartmentKind:
    return _kind(abbr, name, _PERSONNEL)


def finance(abbr: str = "CWK", name: str = "财务科") -> DepartmentKind:
    return _kind(abbr, name, _FINANCE)


def law(abbr: str = "FGK", name: str = "法规科") -> DepartmentKind:
    return _kind(abbr, name, _LAW)


@dataclass(frozen=True)
class UnitKind:
    code: str
    name: str
    chief: str  #: the leadership title: 局长, or 主任 for a commission (委员会)
    chief_officer: tuple[str, str]  #: the unit's 总师 post and its flags
    departments: tuple[DepartmentKind, ...]  #: besides 领导班子; 办公室 first


UNITS: tuple[UnitKind, ...] = (
    UnitKind("FGW", "发展和改革委员会", "主任", ("总经济师", "G"), (
        OFFICE, personnel("ZZRSK", "组织人事科"), law("ZCFGK", "政策法规科"),
        _kind("GDZCTZK", "固定资产投资科", "项目审批:A 项目核准:A 项目备案:A 重点项目稽察:E "
              "投资计划编制:G 投资统计分析:G 项目资料管理"),
        _kind("JGGLK", "价格管理科", "政府定价:L 成本监审:L 收费管理:A 价格监测:G 价格认证:G "
              "价格政策研究:G 价格信息发布:U"))),
    UnitKind("CZJ", "财政局", "局长", ("总会计师", "K"), (
        OFFICE, personnel(),
        _kind("YSK", "预算科", "部门预算编制:K 预算执行分析:K 专项资金分配:K 预算调整审核:K "
              "财政收入分析:G 预算绩效评价:G 预算信息公开:U"),
        _kind("GKK", "国库科", "国库集中支付:K 财政专户管理:K 国库现金管理:K 总预算会计:K "
              "非税收入收缴:K 会计档案管理"),
        _kind("ZFCGGLK", "政府采购管理科", "采购计划审核:K 采购方式审批:AK 供应商投诉处理:E "
              "采购合同备案:K 采购信息发布:U 评审专家管理:K 采购统计:G"))),
    UnitKind("RSJ", "人力资源和社会保障局", "局长", ("总经济师", "G"), (
        OFFICE, finance("JHCWK", "计划财务科"),
        _kind("JYCJK", "就业促进科", "就业资金审核:KL 职业介绍:U 创业扶持:L 职业培训补贴:L "
              "就业统计:G 失业登记:U 高校毕业生就业服务:U"),
        _kind("SHBXK", "社会保险科", "养老保险待遇审核:L 医疗保险基金管理:KL 工伤认定:A "
              "失业保险金审核:L 社保关系转移:U 参保登记:U 社保统计:G"),
        _kind("LDBZJCK", "劳动保障监察科", "劳动保障监察:E 欠薪案件查处:E 举报投诉受理:S "
              "劳动用工备案:U 用人单位书面审查:E 劳动争议调解:S 监察文书管理"))),
    UnitKind("ZJJ", "住房和城乡建设局", "局长", ("总工程师", "K"), (
        OFFICE, finance("JHCWK", "计划财务科"),
        _kind("JZSCJGK", "建筑市场监管科", "施工许可:A 资质审批:A 招投标监管:E 工程质量监督:E "
              "安全生产监督:E 建筑市场信用管理:G 工程造价管理:G"),
        _kind("FDCSCJGK", "房地产市场监管科", "商品房预售许可:AL 房地产开发资质:A 房屋交易备案:U "
              "物业管理监督:S 房地产市场分析:G 中介机构管理:E 房屋产权档案"),
        _kind("ZFBZK", "住房保障科", "保障房资格审核:L 廉租房租金补贴:L 保障房分配:L "
              "保障房建设管理:K 住房公积金政策:G 住房保障统计:G 群众来访接待:S"))),
    UnitKind("JYJ", "教育局", "局长", ("总督学", "U"), (
        OFFICE, personnel("ZZRSK", "组织人事科"), finance("JHCWK", "计划财务科"),
        _kind("JCJYK", "基础教育科", "中小学招生:L 学籍管理:U 教学质量监测:U 学前教育管理:S "
              "民办学校审批:A 教材征订:K 课程改革"),
        _kind("ZSKSK", "招生考试科", "中考组织:L 高考报名:U 考务管理:U 试卷保密:L 招生录取:L "
              "自学考试:U 考试信息统计"))),
    UnitKind("WJW", "卫生健康委员会", "主任", ("总会计师", "K"), (
        OFFICE, personnel(), finance("GHCWK", "规划财务科"),
        _kind("YZYGK", "医政医管科", "医疗机构审批:A 医师执业注册:A 医疗质量管理:U "
              "医疗纠纷处理:S 血液管理:U 药品集中采购:K 医疗广告审查:A"),
        _kind("JBYFKZK", "疾病预防控制科", "传染病防治:U 免疫规划:U 慢性病防治:U "
              "突发公共卫生事件应急:S 疫苗管理:KL 健康教育:U 疫情统计"))),
    UnitKind("SJJ", "市场监督管理局", "局长", ("总经济师", "G"), (
        OFFICE, personnel(), law(),
        _kind("DJZCK", "登记注册科", "企业登记:A 个体工商户登记:A 名称核准:A 年检验照:A "
              "外资企业登记:A 登记咨询:U 登记档案管理"),
        _kind("SPAQJDGLK", "食品安全监督管理科", "食品生产许可:AL 餐饮服务监督检查:EL "
              "食品抽检:EL 流通环节监管:E 食品安全事故处置:S 食品安全宣传:U 食品安全统计"))),
    UnitKind("CGJ", "城市管理局", "局长", ("总工程师", "K"), (
        OFFICE, personnel(), law(),
        _kind("SRHJWSGLK", "市容环境卫生管理科", "市容秩序管理:S 户外广告审批:A 环卫作业监督:U "
              "垃圾处理管理:U 公厕管理:U 环卫设施建设:K 门前三包:S"),
        _kind("ZHZFK", "综合执法科", "违章建筑查处:E 占道经营查处:E 渣土运输执法:E 罚没款管理:K "
              "执法案件审核:E 投诉受理:S 执法文书档案"))),
    UnitKind("JTJ", "交通运输局", "局长", ("总工程师", "K"), (
        OFFICE, personnel(), finance("JHCWK", "计划财务科"),
        _kind("YSGLK", "运输管理科", "道路运输许可:A 出租汽车管理:AL 客运线路审批:A "
              "驾培机构管理:A 运输市场稽查:E 物流行业管理:G 运输统计:G"),
        _kind("GCJSGLK", "工程建设管理科", "工程招投标:K 工程质量监督:E 工程计量支付:K "
              "工程变更审核:K 农村公路建设:KL 公路养护管理:U 工程档案"))),
    UnitKind("ZRJ", "自然资源和规划局", "局长", ("总规划师", "A"), (
        OFFICE, personnel(),
        _kind("GHGLK", "规划管理科", "建设用地规划许可:A 建设工程规划许可:A 规划条件核定:A "
              "规划方案审查:A 规划编制管理:G 规划公示:U 规划档案"),
        _kind("TDLYGLK", "土地利用管理科", "土地出让:KL 建设用地审批:A 土地征收:L 耕地保护:G "
              "土地储备:K 地籍调查:G 土地统计"),
        _kind("ZFJCK", "执法监察科", "土地违法查处:E 矿产资源执法:E 动态巡查:E 信访受理:S "
              "案件审理:E 卫片执法检查:E 执法统计"))),
    # 审计: audit offices are administrative supervision bodies; auditing is their
    # enforcement power (执法权).
    UnitKind("SJ", "审计局", "局长", ("总审计师", "E"), (
        OFFICE, personnel(), law("FGSLK", "法规审理科"),
        _kind("CZSJK", "财政审计科", "预算执行审计:E 决算审计:E 专项资金审计:E 审计报告复核:G "
              "审计整改跟踪:G 审计统计 审计档案"),
        _kind("JJZRSJK", "经济责任审计科", "领导干部经济责任审计:E 离任审计:E 审计结果运用:G "
              "审计计划编制:G 审计质量控制:G 审计资料管理 审计信息报送"))),
    UnitKind("MZJ", "民政局", "局长", ("总经济师", "G"), (
        OFFICE, personnel(), finance("JHCWK", "计划财务科"),
        _kind("SHJZK", "社会救助科", "最低生活保障审批:AL 医疗救助:L 临时救助:L 五保供养:L "
              "救灾物资管理:K 救助资金发放:KL 救助统计"),
        _kind("SHSWK", "社会事务科", "婚姻登记:S 殡葬管理:S 收养登记:S 流浪乞讨救助:S "
              "残疾人福利:S 养老服务:U 社会福利统计"))),
)

LEADERSHIP = ("LDBZ", "领导班子")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
            "侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
#: The most common surnames come up more often, as they do in any Chinese office.
SURNAME_WEIGHTS = tuple(max(1, 24 - i // 2) if i < 20 else 3 for i in range(len(SURNAMES)))
SINGLE_GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华辉斌宇浩凯"
                "鹏飞鑫波宁玲红梅琳燕晶欣颖雪倩婷峰亮东林")
FIRST_GIVEN = "建志国晓春海文永玉秀丽俊德明红立家嘉思雅云雨天宏振庆新学继卫少佳子"
SECOND_GIVEN = "华明平军强伟林峰辉东英芳红梅燕琴霞丹宁涛波杰斌亮刚勇婷娟敏静洁颖琳晨阳浩宇鹏飞"


# ----------------------------------------------------------------------------- the city


def _attributes(flags: Iterable[str]) -> dict[str, bool]:
    present = set("".join(flags))
    return {FLAGS[f]: f in present for f in FLAGS}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    roles: tuple[str, ...]
    official_code: str | None = None


@dataclass(frozen=True)
class DemoLogin:
    """A documented demo login (README, "演示城市 · Demo city")."""

    username: str
    role: str  #: a role, or the group that makes it (``discipline_commission:CZJ``)
    unit: str  #: unit code, or "" for city-level accounts
    official_code: str | None = None
    name: str = ""
    post: str = ""


@dataclass
class City:
    """The generated city, as rows in the organisation file's terms, plus its accounts."""

    seed: int
    units: list[dict[str, Any]] = field(default_factory=list)
    officials: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    logins: list[DemoLogin] = field(default_factory=list)

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {"units": self.units, "officials": self.officials,
                "departments": self.departments, "posts": self.posts}

    def csv_files(self) -> dict[str, bytes]:
        """The city as the four CSV files an administrator would import."""
        return write_csv(self.rows())

    def tables(self) -> Tables:
        """The city read back from its CSV files, as an uploaded organisation file is read."""
        return read_csv(self.csv_files())

    def levels(self) -> dict[int, int]:
        counts = Counter(post_rule_level(p) for p in self.posts)
        return {level: counts.get(level, 0) for level in (1, 2, 3)}


class _Names:
    """Chinese names, unique within the city (two colleagues with one name confuse a demo)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        rng = self.rng
        while True:
            surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
            given = (rng.choice(SINGLE_GIVEN) if rng.random() < 0.3
                     else rng.choice(FIRST_GIVEN) + rng.choice(SECOND_GIVEN))
            if surname + given not in self.used:
                self.used.add(surname + given)
                return surname + given


@dataclass
class _Post:
    name: str
    flags: str
    role: str = "staff"  #: principal, deputy, discipline, head, staff


def _leadership_posts(kind: UnitKind, deputies: int, overseen: list[list[DepartmentKind]]
                      ) -> list[_Post]:
    """领导班子: the principal (正职), the deputies (graded by what they oversee), the
    discipline officer, the unit's 总师 and non-leading ranks (调研员) — eight posts."""
    deputy_title = "副" + kind.chief
    posts = [_Post(kind.chief, "P", "principal")]
    for i in range(deputies):
        flags = "".join(f for dept in overseen[i] for _, fl in dept.functions for f in fl
                        if f != "P")
        posts.append(_Post(("常务" if i == 0 else "") + deputy_title, flags, "deputy"))
    posts.append(_Post("纪检组长", "", "discipline"))
    posts.append(_Post(*kind.chief_officer))
    posts.append(_Post("调研员", ""))
    posts += [_Post("副调研员", "") for _ in range(4 - deputies)]
    return posts


def _department_posts(dept: DepartmentKind, rng: random.Random) -> list[_Post]:
    """科长 and 副科长 (graded by everything the department does), six 科员 with functions."""
    keep = sorted(rng.sample(range(len(dept.functions)), FUNCTIONS_PER_DEPARTMENT))
    functions = [dept.functions[i] for i in keep]
    flags = "".join(fl for _, fl in functions)
    return [_Post(f"{dept.name}{dept.head}", flags, "head"),
            _Post(f"{dept.name}副{dept.head}", flags),
            *(_Post(f"科员（{name}）", fl) for name, fl in functions)]


def _oversight(kind: UnitKind, deputies: int, rng: random.Random) -> list[list[DepartmentKind]]:
    """Which departments each deputy oversees: the first (常务) deputy always has 办公室; the
    rest are dealt out at random so that every deputy oversees at least one."""
    rest = list(kind.departments[1:])
    rng.shuffle(rest)
    overseen: list[list[DepartmentKind]] = [[kind.departments[0]]] + [[] for _ in
                                                                      range(deputies - 1)]
    for i, dept in enumerate(rest):
        overseen[(i + 1) % deputies].append(dept)
    order = {d.abbr: n for n, d in enumerate(kind.departments)}
    return [sorted(group, key=lambda d: order[d.abbr]) for group in overseen]


def generate_city(seed: int = DEFAULT_SEED) -> City:
    """The whole city from ``seed``; no database. Same seed, same city."""
    rng = random.Random(seed)
    names = _Names(rng)
    city = City(seed)
    for kind in UNITS:
        _add_unit(city, kind, rng, names)
    city.accounts += [DemoAccount("admin", (Role.ADMIN.value,)),
                      DemoAccount("jiwei", (Role.DISCIPLINE_COMMISSION.value,)),
                      DemoAccount("designer", (Role.DESIGNER.value,))]
    city.logins = _logins(city)
    return city


def _add_unit(city: City, kind: UnitKind, rng: random.Random, names: _Names) -> None:
    deputies = rng.choice((2, 3))
    overseen = _oversight(kind, deputies, rng)
    leadership_code = f"{kind.code}-{LEADERSHIP[0]}"
    groups: list[tuple[str, str, list[_Post]]] = [
        (leadership_code, LEADERSHIP[1], _leadership_posts(kind, deputies, overseen))]
    groups += [(f"{kind.code}-{d.abbr}", d.name, _department_posts(d, rng))
               for d in kind.departments]

    holders: dict[str, list[str]] = {}  # role → official codes
    holder_of_dept: dict[str, str] = {}
    number = 0
    for dept_code, _, posts in groups:
        for i, post in enumerate(posts, start=1):
            number += 1
            official = f"{kind.code}-{number:04d}"
            city.officials.append({"code": official, "name": names(), "unit_code": kind.code})
            city.posts.append({"code": f"{dept_code}-{i:02d}", "department_code": dept_code,
                               "name": post.name, "holder_code": official,
                               **_attributes(post.flags)})
            holders.setdefault(post.role, []).append(official)
            if post.role == "head":
                holder_of_dept[dept_code] = official
    principal, deputy_codes = holders["principal"][0], holders["deputy"]
    holder_of_dept[leadership_code] = principal
    deputy_of = {leadership_code: deputy_codes[0]}
    for i, group in enumerate(overseen):
        deputy_of.update({f"{kind.code}-{d.abbr}": deputy_codes[i] for d in group})

    city.units.append({"code": kind.code, "name": kind.name, "principal_code": principal,
                       "discipline_officer_code": holders["discipline"][0]})
    for dept_code, name, _ in groups:
        city.departments.append({"code": dept_code, "unit_code": kind.code, "name": name,
                                 "head_code": holder_of_dept[dept_code],
                                 "deputy_in_charge_code": deputy_of[dept_code]})
    roles: dict[str, set[str]] = {}
    for code in holder_of_dept.values():
        roles.setdefault(code, set()).add(Role.DEPARTMENT_HEAD.value)
    for code in deputy_of.values():
        roles.setdefault(code, set()).add(Role.DEPUTY_IN_CHARGE.value)
    roles.setdefault(principal, set()).add(Role.PRINCIPAL.value)
    first = len(city.officials) - number
    for row in city.officials[first:]:
        held = sorted({Role.STAFF.value} | roles.get(row["code"], set()))
        city.accounts.append(DemoAccount(row["code"].lower(), tuple(held), row["code"]))


def _logins(city: City) -> list[DemoLogin]:
    """The documented logins: the city-level accounts, and one official of each leadership
    role in 财政局 — the deputy overseeing 办公室, its head and one of its staff, so the
    four of them see one another's tasks."""
    unit = next(u for u in city.units if u["code"] == SHOWCASE_UNIT)
    office = next(d for d in city.departments if d["code"] == f"{SHOWCASE_UNIT}-{OFFICE.abbr}")
    staff = next(p["holder_code"] for p in city.posts
                 if p["department_code"] == office["code"] and p["name"].startswith("科员"))
    people = {o["code"]: o["name"] for o in city.officials}
    post_of = {p["holder_code"]: p["name"] for p in city.posts}

    def official(role: str, code: str) -> DemoLogin:
        return DemoLogin(code.lower(), role, SHOWCASE_UNIT, code, people[code], post_of[code])

    return [DemoLogin("admin", Role.ADMIN.value, ""),
            DemoLogin("jiwei", Role.DISCIPLINE_COMMISSION.value, ""),
            DemoLogin("designer", Role.DESIGNER.value, ""),
            official(Role.PRINCIPAL.value, unit["principal_code"]),
            official(Role.DEPUTY_IN_CHARGE.value, office["deputy_in_charge_code"]),
            official(Role.DEPARTMENT_HEAD.value, office["head_code"]),
            official(Role.STAFF.value, staff),
            # The unit's discipline officer: the commission's role scoped to the unit only
            # (the plain role is the city commission's, which sees every unit).
            official(f"{Role.DISCIPLINE_COMMISSION.value}:{SHOWCASE_UNIT}",
                     unit["discipline_officer_code"])]


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    units: int
    departments: int
    posts: int
    officials: int
    accounts: int
    #: Posts per level by the post rule alone (``engine.programme.grading.post_rule_level``; risk
    #: points may raise a post's level later).
    levels: dict[int, int]
    #: The organisation import's report: created / updated / unchanged rows.
    organisation: dict[str, int]
    #: Accounts created / updated / unchanged.
    logins: dict[str, int]
    clock: datetime
    campaign_instance_id: int | None
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
                "notes": list(self.notes),
                "demo_logins": [{"username": d.username, "role": d.role, "unit": d.unit,
                                 "name": d.name, "post": d.post} for d in self.demo_logins]}


Say = Callable[[str], None]


def load_demo_city(target: Runtime | UnitOfWork, seed: int = DEFAULT_SEED,
                   password: str = DEFAULT_PASSWORD, *, start_campaign: bool = False,
                   say: Say | None = print) -> DemoSummary:
    """Load (or refresh) the demo city; see the module docstring.

    ``target`` is a runtime (a unit of work is opened for the load) or an open unit of work
    (each service commits in it). ``start_campaign`` starts the deployed ``campaign``
    process for 2011 over every unit — once; without a deployed ``campaign`` it only notes
    so. Notes also go to ``say`` (``None``: keep them in the summary only).
    """
    if isinstance(target, UnitOfWork):
        return _load(target, seed, password, start_campaign, say)
    with target.uow() as uow:
        return _load(uow, seed, password, start_campaign, say)


def _load(uow: UnitOfWork, seed: int, password: str, start_campaign: bool,
          say: Say | None) -> DemoSummary:
    password_hash = hash_password(password)  # validates it; scrypt once for every account
    city = generate_city(seed)
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if say is not None:
            say(text)

    at = _set_clock(uow, note)
    report: ImportReport = import_organisation(uow, city.tables())
    logins = _save_accounts(uow, city.accounts, password, password_hash)
    instance_id = _start_campaign(uow, city, note) if start_campaign else None
    return DemoSummary(
        seed=seed, units=len(city.units), departments=len(city.departments),
        posts=len(city.posts), officials=len(city.officials), accounts=len(city.accounts),
        levels=city.levels(), organisation=report.counts(), logins=logins, clock=at,
        campaign_instance_id=instance_id, notes=tuple(notes), demo_logins=tuple(city.logins))


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
                              {"year": 2011, "units": [u["code"] for u in city.units]})
    return instance.id


__all__ = ["CAMPAIGN_KEY", "CAMPAIGN_PROCESS", "DEFAULT_PASSWORD", "DEFAULT_SEED", "DEMO_START",
           "UNITS", "City", "DemoAccount", "DemoLogin", "DemoSummary",
           "generate_city", "load_demo_city"]
