"""What the demo city (示范城市) is made of: its twelve bureaus, their departments, what each
post in them does, and the names its officials are drawn from.

The source's city put the programme into every body at once — "2010年底前启动廉政风险防范管理
工作;2011年6月,在全市所有部门和单位推开" — so the demo is a whole city of 12 units (单位). Each
unit kind lists its internal departments (内设机构), 办公室 first, and each department the
functions its staff (科员) carry. Functions are flagged with the post attributes the
post-grading rule reads ("单位领导班子正职岗位……具有行政审批权和执法权的岗位,从事人事、财务、物资、
采购、基建等管理的岗位,应确定为一级廉政风险;具有一般经济管理、社会事务管理、公共服务等职能的岗位,
应确定为二级廉政风险"), set from what each post does, so the city shows a realistic mix of the
three levels.

Data only: the generator (``engine.programme.demo_city``) staffs it. Kept apart because it
changes for other reasons than the generator does — a new bureau or function is an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass

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


__all__ = ["FIRST_GIVEN", "FLAGS", "FUNCTIONS_PER_DEPARTMENT", "LEADERSHIP", "OFFICE",
           "SECOND_GIVEN", "SINGLE_GIVEN", "SURNAMES", "SURNAME_WEIGHTS", "UNITS",
           "DepartmentKind", "UnitKind", "finance", "law", "personnel"]
