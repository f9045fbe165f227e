"""A town of three units in the demo city's shape (each: principal, discipline officer, an
office whose head reviews and whose deputy in charge is the principal, a level-1 and a
level-3 post), logins for everyone and the city's discipline commission ``jiwei`` — small
enough to rehearse two years of the programme inside the suite."""

from __future__ import annotations

from textwrap import dedent

from engine.passwords import hash_password
from engine.programme.services import org_import, organisation
from engine.runtime import Runtime

UNITS = ("FGW", "CZJ", "RSJ")
TOWN = {
    "units.csv": """\
        code,name,principal_code,discipline_officer_code
        FGW,发展和改革委员会,FGW-01,FGW-02
        CZJ,财政局,CZJ-01,CZJ-02
        RSJ,人力资源和社会保障局,RSJ-01,RSJ-02
        """,
    "officials.csv": "code,name,unit_code\n" + "".join(
        f"{u}-0{i},{name},{u}\n" for u in UNITS
        for i, name in enumerate(("王建国", "刘芳", "李明", "陈静", "赵磊"), start=1)),
    "departments.csv": "code,unit_code,name,head_code,deputy_in_charge_code\n" + "".join(
        f"{u}-BGS,{u},办公室,{u}-03,{u}-01\n" for u in UNITS),
    "posts.csv": "code,department_code,name,holder_code,approval_power,key_resources,"
                 "public_service\n" + "".join(
        f"{u}-BGS-01,{u}-BGS,项目审批岗,{u}-04,是,否,否\n"
        f"{u}-BGS-02,{u}-BGS,档案岗,{u}-05,否,否,否\n" for u in UNITS),
}


def load_town(rt: Runtime, town: dict[str, str] | None = None) -> None:
    """Import the town (``TOWN``, or another with the same units and five officials each)
    and make its logins (``fgw-01`` … ``rsj-05``, ``jiwei``)."""
    password = hash_password("test-password-2011")
    with rt.uow() as uow:
        org_import.import_csv(uow, {n: dedent(b).encode() for n, b in (town or TOWN).items()})
    with rt.uow() as uow:
        for unit in UNITS:
            for i in range(1, 6):
                organisation.save_account(uow, f"{unit.lower()}-0{i}", password_hash=password,
                                      official_code=f"{unit}-0{i}")
        organisation.save_account(uow, "jiwei", password_hash=password,
                              roles=frozenset({"discipline_commission"}))
