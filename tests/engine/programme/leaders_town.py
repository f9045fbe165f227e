"""A town of three units where the leaders hold posts too, as in the demo city — where
self-supervision happened before separation of duties (回避): the principal heads the
leadership team (领导班子) and holds its 局长 post, the 常务副局长 oversees the leadership team
and the office and holds a post in the first, the discipline officer (纪检组长) and the office's
head hold posts of their own. Small enough to rehearse two years inside the suite.

=============== ====== ============ ===== ===================================================
post            holder name         level what 回避 changes
=============== ====== ============ ===== ===================================================
``<U>-LDBZ-01`` -01    局长          1     领导点 → the deputy; 廉政谈话, 前期预防 → ``jiwei``
``<U>-LDBZ-02`` -02    常务副局长     1     严格审核把关, 中期监控 → the principal
``<U>-LDBZ-03`` -03    纪检组长       3     组织评, 考核 → ``jiwei``
``<U>-BGS-01``  -04    办公室主任     1     领导点 → the deputy; 互相查 → the clerk
``<U>-BGS-02``  -05    科员          3     —
=============== ====== ============ ===== ===================================================
"""

from __future__ import annotations

from engine.runtime import Runtime

from . import rehearsal_town

UNITS = rehearsal_town.UNITS
TOWN = {
    "units.csv": "code,name,principal_code,discipline_officer_code\n" + "".join(
        f"{u},{name},{u}-01,{u}-03\n" for u, name in zip(
            UNITS, ("发展和改革委员会", "财政局", "人力资源和社会保障局"), strict=True)),
    "officials.csv": "code,name,unit_code\n" + "".join(
        f"{u}-0{i},{name}{u},{u}\n" for u in UNITS
        for i, name in enumerate(("王建国", "刘芳", "李明", "陈静", "赵磊"), start=1)),
    "departments.csv": "code,unit_code,name,head_code,deputy_in_charge_code\n" + "".join(
        f"{u}-LDBZ,{u},领导班子,{u}-01,{u}-02\n{u}-BGS,{u},办公室,{u}-04,{u}-02\n"
        for u in UNITS),
    "posts.csv": "code,department_code,name,holder_code,principal_post,approval_power,"
                 "key_resources\n" + "".join(
        f"{u}-LDBZ-01,{u}-LDBZ,局长,{u}-01,是,否,否\n"
        f"{u}-LDBZ-02,{u}-LDBZ,常务副局长,{u}-02,否,是,否\n"
        f"{u}-LDBZ-03,{u}-LDBZ,纪检组长,{u}-03,否,否,否\n"
        f"{u}-BGS-01,{u}-BGS,办公室主任,{u}-04,否,否,是\n"
        f"{u}-BGS-02,{u}-BGS,科员,{u}-05,否,否,否\n" for u in UNITS),
}


def load_town(rt: Runtime) -> None:
    """Import the town and make its logins (``fgw-01`` … ``rsj-05``, ``jiwei``)."""
    rehearsal_town.load_town(rt, TOWN)
