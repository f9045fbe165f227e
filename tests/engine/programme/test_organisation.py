"""The organisation: import (CSV, XLSX) all-or-nothing with per-row errors, re-import by codes,
export round trip, the leaders of a post, an actor's groups, and password hashing.

The small organisation below: 2 units, 3 departments, 8 posts, 11 officials — one post for
each of the source's grading facts, a vacant post and a post whose holder has no login.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text

from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.passwords import hash_password
from engine.programme.models import (
    POST_ATTRIBUTES,
    Account,
    AccountRole,
    Department,
    Official,
    Post,
    Unit,
)
from engine.programme.orgfile import cell_text, read_csv_dir
from engine.programme.orgschema import PostRow
from engine.programme.services import org_import, organisation
from engine.programme.services.org_import import (
    FieldChange,
    ImportRejected,
    ImportReport,
    RowChange,
)
from engine.programme.services.organisation import Leaders
from engine.runtime import Runtime

UNITS_CSV = """\
code,name,principal_code,discipline_officer_code
fgw,发展和改革委员会,o01,o04
czj,财政局,o10,o14
"""
# Chinese headers (aliases) for officials and posts; mixed yes/no spellings in posts.
OFFICIALS_CSV = """\
人员编码,姓名,所在单位
o01,王建国,fgw
o02,李明,fgw
o03,张伟,fgw
o04,刘芳,fgw
o06,杨洋,fgw
o07,赵磊,fgw
o10,孙丽,czj
o11,周强,czj
o12,吴敏,czj
o13,郑涛,czj
o14,黄霞,czj
"""
DEPARTMENTS_CSV = """\
code,unit_code,name,head_code,deputy_in_charge_code
fgw-ld,fgw,委领导班子,o01,o03
fgw-tzc,fgw,投资处,o02,o03
czj-ysk,czj,预算科,o11,o12
"""
POSTS_CSV = """\
岗位编码,内设机构编码,岗位名称,在岗人员,单位领导班子正职岗位,行政审批权,行政执法权,\
人事财务物资采购基建管理,与经济发展和人民群众生产生活密切相关,一般经济管理,社会事务管理,公共服务
fgw-zr,fgw-ld,主任,o01,是,否,否,否,否,否,否,否
fgw-fzr,fgw-ld,副主任,o03,否,否,否,否,否,是,否,否
fgw-tzc-cz,fgw-tzc,投资处处长,o02,N,Y,N,N,N,N,N,N
fgw-tzc-sp,fgw-tzc,项目审批岗,o06,0,1,0,0,1,0,0,0
fgw-tzc-tj,fgw-tzc,统计岗,o07,false,false,false,false,false,false,false,TRUE
czj-ysk-kz,czj-ysk,预算科科长,o11,否,否,否,是,否,否,否,否
czj-ysk-bz,czj-ysk,预算编制岗,o13,,,,是,,,,
czj-ysk-da,czj-ysk,档案岗,,,,,,,,,
"""
ORG_CSV = {"units.csv": UNITS_CSV, "officials.csv": OFFICIALS_CSV,
           "departments.csv": DEPARTMENTS_CSV, "posts.csv": POSTS_CSV}

#: Which grading facts each post has (the rest are false).
FLAGS = {
    "fgw-zr": {"principal_post"}, "fgw-fzr": {"general_economic"},
    "fgw-tzc-cz": {"approval_power"}, "fgw-tzc-sp": {"approval_power", "livelihood"},
    "fgw-tzc-tj": {"public_service"}, "czj-ysk-kz": {"key_resources"},
    "czj-ysk-bz": {"key_resources"}, "czj-ysk-da": set(),
}
SIZES = {"units": 2, "officials": 11, "departments": 3, "posts": 8}
MODELS = {"units": Unit, "officials": Official, "departments": Department, "posts": Post}


def csv_files(files: dict[str, str]) -> dict[str, bytes]:
    return {name: dedent(body).encode("utf-8") for name, body in files.items()}


def org_xlsx() -> bytes:
    """The same organisation as a workbook typed by hand in Excel: Chinese sheet names and
    headers, real TRUE/FALSE cells and numbers 1/0 next to 是/否, a trailing blank row."""
    book = Workbook()
    book.remove(book.active)
    for title, csv_text in (("单位", UNITS_CSV), ("人员", OFFICIALS_CSV),
                            ("内设机构", DEPARTMENTS_CSV), ("岗位", POSTS_CSV)):
        sheet = book.create_sheet(title)
        for number, line in enumerate(csv_text.splitlines(), start=1):
            cells: list[Any] = line.split(",")
            if title == "岗位" and number > 1:
                typed = {"是": True, "否": False, "1": 1, "0": 0}
                cells = cells[:4] + [typed.get(c, c) if number % 2 else c for c in cells[4:]]
            sheet.append(cells)
        sheet.append([None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def import_csv(rt: Runtime, files: dict[str, str], **kw: Any) -> ImportReport:
    with rt.uow() as uow:
        return org_import.import_csv(uow, csv_files(files), **kw)


def rejected(rt: Runtime, files: dict[str, str]) -> list[tuple[str, int, str, str]]:
    with pytest.raises(ImportRejected) as caught, rt.uow() as uow:
        org_import.import_csv(uow, csv_files(files))
    return [(e.sheet, e.row, e.column, e.reason) for e in caught.value.rows]


def counts(rt: Runtime) -> dict[str, int]:
    with rt.uow(write=False) as uow:
        return {kind: uow.session.scalar(select(func.count()).select_from(model)) or 0
                for kind, model in MODELS.items()}


def exported(rt: Runtime) -> dict[str, list[dict[str, Any]]]:
    with rt.uow(write=False) as uow:
        return org_import.export_rows(uow)


@pytest.fixture
def org(rt: Runtime) -> Runtime:
    import_csv(rt, ORG_CSV)
    return rt


# ------------------------------------------------------------------------------ import


def assert_small_org(rt: Runtime) -> None:
    assert counts(rt) == SIZES
    with rt.uow(write=False) as uow:
        fgw = organisation.get_unit(uow, "fgw")
        assert (fgw.name, fgw.principal and fgw.principal.code,
                fgw.discipline_officer and fgw.discipline_officer.code) == (
                    "发展和改革委员会", "o01", "o04")
        tzc = organisation.get_department(uow, "fgw-tzc")
        assert (tzc.unit.code, tzc.head and tzc.head.code,
                tzc.deputy_in_charge and tzc.deputy_in_charge.code) == ("fgw", "o02", "o03")
        posts = {p.code: p for p in organisation.posts_of(uow, "fgw")
                 + organisation.posts_of(uow, "czj")}
        assert {code: {a for a, v in p.attributes().items() if v}
                for code, p in posts.items()} == FLAGS
        assert posts["fgw-tzc-sp"].holder is not None
        assert posts["fgw-tzc-sp"].holder.name == "杨洋"
        assert posts["czj-ysk-da"].holder is None
        assert [p.code for p in organisation.posts_of(uow, "czj")] == [
            "czj-ysk-bz", "czj-ysk-da", "czj-ysk-kz"]


def test_import_from_csv_creates_the_organisation(rt: Runtime) -> None:
    report = import_csv(rt, ORG_CSV)
    assert report.counts() == {"created": 24, "updated": 0, "unchanged": 0}
    assert ("posts", "czj-ysk-da") in report.created
    assert_small_org(rt)


def test_import_from_xlsx_gives_the_same_organisation(rt: Runtime, tmp_path: Path) -> None:
    fixture = tmp_path / "org_small.xlsx"
    fixture.write_bytes(org_xlsx())
    with rt.uow() as uow:
        report = org_import.import_xlsx(uow, fixture.read_bytes())
    assert report.counts()["created"] == 24
    assert_small_org(rt)


def test_csv_directory_in_gb18030_as_excel_saves_it(rt: Runtime, tmp_path: Path) -> None:
    directory = tmp_path / "org_small"
    directory.mkdir()
    for name, body in ORG_CSV.items():
        (directory / name).write_bytes(body.encode("gb18030"))
    with rt.uow() as uow:
        org_import.import_organisation(uow, read_csv_dir(directory))
    assert_small_org(rt)


def test_dry_run_reports_without_writing(rt: Runtime) -> None:
    report = import_csv(rt, ORG_CSV, dry_run=True)
    assert report.counts()["created"] == 24
    assert counts(rt) == dict.fromkeys(SIZES, 0)


def test_post_row_schema_reads_every_grading_attribute() -> None:
    assert set(POST_ATTRIBUTES) <= set(PostRow().fields)


def test_excel_cells_become_text() -> None:
    assert [cell_text(v) for v in (1001, 1001.0, 2.5, True, None, " 是 ")] == [
        "1001", "1001", "2.5", "true", "", "是"]


# ------------------------------------------------------------------------- bad input


BAD_ORG = {
    "units.csv": """\
        code,name,principal_code,discipline_officer_code
        fgw,发展和改革委员会,o01,o04
        czj,财政局,,
        """,
    "officials.csv": """\
        code,name,unit_code
        o01,王建国,fgw
        o02,李明,fgw
        o03,张伟,fgw
        o04,刘芳,fgw
        o10,孙丽,nope
        o11,,czj
        """,
    "departments.csv": """\
        code,unit_code,name,head_code,deputy_in_charge_code
        fgw-tzc,fgw,投资处,o02,o03
        czj-ysk,czj,预算科,o02,o99
        """,
    "posts.csv": """\
        code,department_code,name,holder_code,approval_power
        fgw-tzc-sp,fgw-tzc,项目审批岗,o01,是
        fgw-tzc-sp,fgw-tzc,重复的岗位,,否
        fgw-xx,fgw-nope,某岗,,否
        fgw-yy,fgw-tzc,某岗,,maybe
        fgw-zz,fgw-tzc,某岗,o11,否
        bad code,fgw-tzc,某岗,,否
        """,
}
#: (sheet, row, column, part of the reason) — every bad row, in file order.
BAD_ORG_ERRORS = [
    ("units", 3, "principal_code", "missing principal (单位主要领导)"),
    ("officials", 6, "unit_code", "unknown unit 'nope'"),
    ("officials", 7, "name", "required cell is empty"),
    ("departments", 3, "deputy_in_charge_code", "unknown official 'o99'"),
    ("departments", 3, "head_code", "must be an official of unit 'czj'; o02 (李明)"),
    ("posts", 3, "code", "duplicate post code 'fgw-tzc-sp' (first at row 2)"),
    ("posts", 4, "department_code", "unknown department 'fgw-nope'"),
    ("posts", 5, "approval_power", "'maybe' is not yes/no (是/否, true/false, 1/0, Y/N)"),
    ("posts", 6, "holder_code", "must be an official of unit 'fgw'; o11"),
    ("posts", 7, "code", "'bad code' is not a code"),
]


def assert_errors(found: list[tuple[str, int, str, str]],
                  expected: list[tuple[str, int, str, str]]) -> None:
    assert [f[:3] for f in found] == [e[:3] for e in expected], found
    for (*_, reason), (*_, part) in zip(found, expected, strict=True):
        assert part in reason


def test_every_bad_row_is_reported_and_nothing_is_written(rt: Runtime) -> None:
    assert counts(rt) == dict.fromkeys(SIZES, 0)
    assert_errors(rejected(rt, BAD_ORG), BAD_ORG_ERRORS)
    assert counts(rt) == dict.fromkeys(SIZES, 0)


def test_errors_carry_row_and_column_for_the_caller(rt: Runtime) -> None:
    with pytest.raises(ImportRejected) as caught, rt.uow() as uow:
        org_import.import_csv(uow, csv_files(BAD_ORG))
    assert isinstance(caught.value, ValidationFailed)  # web/ maps it like any bad input
    assert caught.value.code == "validation_failed"
    assert "10 problem(s)" in caught.value.message
    assert caught.value.errors["posts:3:code"] == [
        "duplicate post code 'fgw-tzc-sp' (first at row 2)"]
    assert str(caught.value.rows[0]).startswith(
        "units row 3, principal_code: missing principal")


def test_a_bad_reimport_leaves_the_existing_organisation_untouched(org: Runtime) -> None:
    before = exported(org)
    files = dict(ORG_CSV, **{"units.csv": UNITS_CSV.replace("财政局,o10", "市财政局,")})
    assert_errors(rejected(org, files),
                  [("units", 3, "principal_code", "missing principal")])
    assert exported(org) == before


def test_headers_unknown_or_missing_are_reported_once(rt: Runtime) -> None:
    files = {"departments.csv": """\
        code,unit_code,nmae,head_code,deputy_in_charge_code
        d1,u1,,o1,o2
        """}
    assert_errors(rejected(rt, files), [
        ("departments", 1, "name", "required column missing (name or 内设机构名称)"),
        ("departments", 1, "nmae", "unknown column"),
        ("departments", 2, "deputy_in_charge_code", "unknown official 'o2'"),
        ("departments", 2, "head_code", "unknown official 'o1'"),
        ("departments", 2, "unit_code", "unknown unit 'u1'"),
    ])


def test_a_shifted_row_is_reported(rt: Runtime) -> None:
    files = {"officials.csv": "code,name,unit_code\no01,王,建国,fgw\n"}
    assert_errors(rejected(rt, files), [
        ("officials", 2, "", "a cell outside the header's columns"),
        ("officials", 2, "unit_code", "'建国' is not a code"),
    ])


def test_an_unknown_sheet_and_an_unreadable_workbook_are_refused(rt: Runtime) -> None:
    assert_errors(rejected(rt, {"staff.csv": "code,name\nx,y\n"}),
                  [("staff.csv", 0, "", "unknown sheet")])
    with pytest.raises(ValidationFailed, match="not a readable XLSX"), rt.uow() as uow:
        org_import.import_xlsx(uow, b"PK\x03\x04 not really a zip")


def test_moving_a_leader_away_is_reported_on_the_official_row(org: Runtime) -> None:
    """o02 heads 投资处 and holds its 处长 post: moving o02 to 财政局 alone would leave that
    department led from outside its unit ("内设机构领导直接管理和负责")."""
    errors = rejected(org, {"officials.csv": "code,name,unit_code\no02,李明,czj\n"})
    assert [e[:3] for e in errors] == [("officials", 2, "unit_code")] * 2
    assert "department fgw-tzc (not in this file) names o02 as head" in errors[0][3]
    assert "post fgw-tzc-cz (not in this file) names o02 as holder" in errors[1][3]


# ------------------------------------------------------------------------- re-import


def test_reimport_reports_what_changed(org: Runtime) -> None:
    files = dict(ORG_CSV)
    files["units.csv"] = UNITS_CSV.replace("czj,财政局", "czj,市财政局")
    files["posts.csv"] = POSTS_CSV.replace("czj-ysk-da,czj-ysk,档案岗,,",
                                           "czj-ysk-da,czj-ysk,档案岗,o13,")
    report = import_csv(org, files)
    assert report.created == []
    assert report.updated == [
        RowChange("units", "czj", (FieldChange("name", "财政局", "市财政局"),)),
        RowChange("posts", "czj-ysk-da", (FieldChange("holder_code", None, "o13"),)),
    ]
    assert len(report.unchanged) == 22
    with org.uow(write=False) as uow:
        assert organisation.get_unit(uow, "czj").name == "市财政局"
        holder = organisation.get_post(uow, "czj-ysk-da").holder
        assert holder is not None and holder.code == "o13"
    assert counts(org) == SIZES


def test_a_partial_file_adds_to_what_exists(org: Runtime) -> None:
    report = import_csv(org, {"posts.csv": """\
        code,department_code,name,holder_code,enforcement_power
        czj-ysk-jc,czj-ysk,监督检查岗,o14,是
        """})
    assert report.created == [("posts", "czj-ysk-jc")]
    with org.uow(write=False) as uow:
        post = organisation.get_post(uow, "czj-ysk-jc")
        assert {a for a, v in post.attributes().items() if v} == {"enforcement_power"}
    assert counts(org)["posts"] == 9


@pytest.mark.parametrize("chinese", [False, True], ids=["code-headers", "chinese-headers"])
def test_export_then_import_is_unchanged(org: Runtime, chinese: bool) -> None:
    before = exported(org)
    with org.uow(write=False) as uow:
        workbook = org_import.export_xlsx(uow, chinese=chinese)
        csv_export = org_import.export_csv(uow, chinese=chinese)
    with org.uow() as uow:
        from_xlsx = org_import.import_xlsx(uow, workbook)
    with org.uow() as uow:
        from_csv = org_import.import_csv(uow, csv_export)
    for result in (from_xlsx, from_csv):
        assert result.counts() == {"created": 0, "updated": 0, "unchanged": 24}
    assert exported(org) == before
    assert ("岗位.csv" if chinese else "posts.csv") in csv_export


def test_export_into_an_empty_database_rebuilds_the_organisation(org: Runtime,
                                                                  tmp_path: Path) -> None:
    with org.uow(write=False) as uow:
        workbook = org_import.export_xlsx(uow)
    before = exported(org)
    with org.db.begin() as conn:  # empty the four tables (children first)
        conn.execute(text("UPDATE unit SET principal_id = NULL, discipline_officer_id = NULL"))
        for table in ("post", "department", "official", "unit"):
            conn.execute(text(f"DELETE FROM {table}"))
    assert counts(org) == dict.fromkeys(SIZES, 0)
    with org.uow() as uow:
        assert org_import.import_xlsx(uow, workbook).counts()["created"] == 24
    assert exported(org) == before


# --------------------------------------------------------------- leaders and groups


@cache
def shared_hash() -> str:
    """One scrypt hash reused by the fixture accounts (scrypt is slow on purpose)."""
    return hash_password("demo-password-2011")


ACCOUNTS = {  # username: (official, roles)
    "wangjianguo": ("o01", {"designer"}), "liming": ("o02", set()),
    "zhangwei": ("o03", set()), "liufang": ("o04", set()), "yangyang": ("o06", set()),
    "zhaolei": ("o07", set()), "sunli": ("o10", set()), "zhouqiang": ("o11", set()),
    "wumin": ("o12", set()), "admin": (None, {"admin"}),
}


@pytest.fixture
def people(org: Runtime) -> Iterator[Runtime]:
    for username, (official, roles) in ACCOUNTS.items():
        with org.uow() as uow:
            organisation.save_account(uow, username, password_hash=shared_hash(),
                                  official_code=official, roles=roles)
    with org.uow() as uow:
        organisation.save_account(uow, "zhaolei", active=False)
    yield org


def test_leaders_for_a_post_name_every_responsible_login(people: Runtime) -> None:
    """Level 1: principal responsible, deputy in charge manages; level 2: deputy responsible,
    head manages; level 3: head — all three are named for every post, plus the discipline
    officer (组织评)."""
    with people.uow(write=False) as uow:
        assert organisation.leaders_for(uow, "fgw-tzc-sp") == Leaders(
            post="fgw-tzc-sp", unit="fgw", department="fgw-tzc", holder="yangyang",
            department_head="liming", deputy_in_charge="zhangwei", principal="wangjianguo",
            discipline_officer="liufang")
        vacant = organisation.leaders_for(uow, "czj-ysk-da")
        # Vacant post; 黄霞 (o14) has no login.
        assert (vacant.holder, vacant.department_head, vacant.deputy_in_charge,
                vacant.principal, vacant.discipline_officer) == (
                    None, "zhouqiang", "wumin", "sunli", None)
        # 赵磊's account is disabled: tasks must not go to it.
        assert organisation.leaders_for(uow, "fgw-tzc-tj").holder is None
        with pytest.raises(NotFound, match="no post with code 'nope'"):
            organisation.leaders_for(uow, "nope")


def test_groups_follow_roles_and_positions(people: Runtime) -> None:
    with people.uow(write=False) as uow:
        assert organisation.groups_of(uow, "wangjianguo") == {
            "designer", "staff", "unit:fgw", "principal", "principal:fgw",
            "department_head", "department_head:fgw-ld", "dept:fgw-ld", "post:fgw-zr"}
        assert organisation.groups_of(uow, "zhangwei") == {
            "staff", "unit:fgw", "deputy_in_charge", "deputy_in_charge:fgw-ld",
            "deputy_in_charge:fgw-tzc", "post:fgw-fzr", "dept:fgw-ld"}
        # A unit's discipline officer is scoped to the unit, not the city's commission.
        assert organisation.groups_of(uow, "liufang") == {
            "staff", "unit:fgw", "discipline_officer:fgw"}
        assert organisation.groups_of(uow, "yangyang") == {
            "staff", "unit:fgw", "post:fgw-tzc-sp", "dept:fgw-tzc"}
        assert organisation.groups_of(uow, "admin") == {"admin"}


def test_actor_for_builds_the_engine_actor(people: Runtime) -> None:
    with people.uow(write=False) as uow:
        head = organisation.actor_for(uow, "liming")
        assert head.user == "liming" and not head.is_admin
        assert head.may_claim([], ["department_head:fgw-tzc"])
        assert not head.may_claim([], ["department_head:czj-ysk"])
        assert organisation.actor_for(uow, "admin").is_admin
        with pytest.raises(Forbidden, match="disabled"):
            organisation.actor_for(uow, "zhaolei")
        with pytest.raises(NotFound):
            organisation.actor_for(uow, "nobody")


def test_an_appointment_in_a_reimport_moves_the_groups(people: Runtime) -> None:
    import_csv(people, {"departments.csv": DEPARTMENTS_CSV.replace(
        "fgw-tzc,fgw,投资处,o02,o03", "fgw-tzc,fgw,投资处,o06,o03")})
    with people.uow(write=False) as uow:
        assert "department_head:fgw-tzc" in organisation.groups_of(uow, "yangyang")
        assert "department_head" not in organisation.groups_of(uow, "liming")
        assert organisation.leaders_for(uow, "fgw-tzc-cz").department_head == "yangyang"


# ------------------------------------------------------------------------- passwords


def test_passwords_are_hashed_and_checked(people: Runtime) -> None:
    with people.uow() as uow:
        account = organisation.save_account(uow, "tester", password="correct horse",
                                        official_code="o13", roles={"staff"})
    assert account.password_hash != "correct horse"
    assert account.password_hash.startswith("scrypt:")
    assert account.check_password("correct horse")
    assert not account.check_password("wrong horse")
    with people.db.connect() as conn:
        stored = conn.execute(text("SELECT * FROM account WHERE username = 'tester'")).one()
    assert all("correct horse" not in str(value) for value in stored)
    with people.uow(write=False) as uow:
        assert organisation.authenticate(uow, "tester", "correct horse") is not None
        assert organisation.authenticate(uow, "tester", "wrong horse") is None
        assert organisation.authenticate(uow, "nobody", "correct horse") is None
        assert organisation.authenticate(uow, "zhaolei", "demo-password-2011") is None  # disabled
        assert organisation.authenticate(uow, "liming", "demo-password-2011") is not None
    with people.uow() as uow:
        organisation.save_account(uow, "tester", password="battery staple")
    with people.uow(write=False) as uow:
        assert organisation.authenticate(uow, "tester", "correct horse") is None
        assert organisation.authenticate(uow, "tester", "battery staple") is not None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "new", "password": "short"}, "at least 8 characters"),
    ({"username": "new"}, "needs a password"),
    ({"username": "has space", "password": "long enough"}, "not a username"),
    ({"username": "new", "password": "long enough", "roles": {"boss"}}, "unknown role"),
    ({"username": "new", "password": "long enough", "official_code": "o02"},
     "already has the account 'liming'"),
    ({"username": "new", "password": "long enough", "official_code": "o99"},
     "no official with code 'o99'"),
])
def test_bad_account_input_is_refused(people: Runtime, kwargs: dict[str, Any],
                                      message: str) -> None:
    before = counts_accounts(people)
    with pytest.raises((ValidationFailed, NotFound), match=message), people.uow() as uow:
        organisation.save_account(uow, **kwargs)
    assert counts_accounts(people) == before


def test_roles_are_a_set_per_account(people: Runtime) -> None:
    with people.uow() as uow:
        organisation.save_account(uow, "wangjianguo", roles={"designer", "discipline_commission"})
    with people.uow() as uow:
        assert organisation.get_account(uow, "wangjianguo").roles == {
            "designer", "discipline_commission"}
        organisation.save_account(uow, "wangjianguo", roles={"admin"})
    with people.uow(write=False) as uow:
        assert organisation.get_account(uow, "wangjianguo").roles == {"admin"}
        assert organisation.actor_for(uow, "wangjianguo").is_admin


def counts_accounts(rt: Runtime) -> tuple[int, int]:
    with rt.uow(write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(Account)) or 0,
                uow.session.scalar(select(func.count()).select_from(AccountRole)) or 0)
