"""The organisation's exchange format: four tables, as CSV files or as sheets of one workbook.

Plain Python, no database: this module only turns files into rows of text and rows back into
files. What the rows mean, and whether they are valid, is
``engine.programme.services.org_import``'s job.

The four kinds follow the source's three tiers plus the people ("从单位、内设机构、岗位'三个层次'",
"把预防腐败的责任落实到每个岗位和个人"):

- ``units`` (sheet or file ``units`` / ``单位``): code 单位编码*, name 单位名称*,
  principal_code 主要领导*, discipline_officer_code 纪检监察员.
- ``officials`` (``officials`` / ``人员``): code 人员编码*, name 姓名*, unit_code 所在单位*.
- ``departments`` (``departments`` / ``内设机构``): code 内设机构编码*, unit_code 单位编码*,
  name 内设机构名称*, head_code 内设机构领导*, deputy_in_charge_code 分管领导*.
- ``posts`` (``posts`` / ``岗位``): code 岗位编码*, department_code 内设机构编码*,
  name 岗位名称*, holder_code 在岗人员, and the eight yes/no grading columns of
  ``POST_ATTRIBUTES`` (principal_post 单位领导班子正职岗位, approval_power 行政审批权,
  enforcement_power 行政执法权, key_resources 人事财务物资采购基建管理, livelihood
  与经济发展和人民群众生产生活密切相关, general_economic 一般经济管理, social_affairs
  社会事务管理, public_service 公共服务).

``*`` marks required columns; an optional column left out of a re-import keeps its stored
values. Leaders and holders are given by official code. Header row first; headers match the
code name or any alias (case and spaces ignored). Yes/no cells accept 是/否, true/false, 1/0,
Y/N, yes/no; an empty yes/no cell means no. Row numbers are the spreadsheet's (the header is
row 1). CSV is read as UTF-8 (with or without BOM) or, failing that, GB18030 — what Excel on
Chinese Windows saves — and written as UTF-8 with a BOM so Excel opens it correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from ..errors import ValidationFailed
from .models.org import POST_ATTRIBUTES


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    required: bool = False
    boolean: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    aliases: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def label(self) -> str:
        return self.aliases[0]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_BOOLEAN_ALIASES = {
    "principal_post": ("单位领导班子正职岗位", "正职岗位"),
    "approval_power": ("行政审批权",),
    "enforcement_power": ("行政执法权", "执法权"),
    "key_resources": ("人事财务物资采购基建管理",),
    "livelihood": ("与经济发展和人民群众生产生活密切相关", "经济民生密切相关"),
    "general_economic": ("一般经济管理",),
    "social_affairs": ("社会事务管理",),
    "public_service": ("公共服务",),
}

KINDS: tuple[Kind, ...] = (
    Kind("units", ("单位",), (
        Column("code", ("单位编码",), required=True),
        Column("name", ("单位名称",), required=True),
        Column("principal_code", ("主要领导", "主要领导编码", "正职"), required=True),
        Column("discipline_officer_code", ("纪检监察员", "纪检监察员编码")),
    )),
    Kind("officials", ("人员", "公职人员"), (
        Column("code", ("人员编码",), required=True),
        Column("name", ("姓名",), required=True),
        Column("unit_code", ("所在单位", "单位编码"), required=True),
    )),
    Kind("departments", ("内设机构",), (
        Column("code", ("内设机构编码",), required=True),
        Column("unit_code", ("单位编码",), required=True),
        Column("name", ("内设机构名称",), required=True),
        Column("head_code", ("内设机构领导", "内设机构领导编码"), required=True),
        Column("deputy_in_charge_code", ("分管领导", "分管领导编码"), required=True),
    )),
    Kind("posts", ("岗位",), (
        Column("code", ("岗位编码",), required=True),
        Column("department_code", ("内设机构编码",), required=True),
        Column("name", ("岗位名称",), required=True),
        Column("holder_code", ("在岗人员", "在岗人员编码")),
        *(Column(name, _BOOLEAN_ALIASES[name], boolean=True) for name in POST_ATTRIBUTES),
    )),
)
KIND_NAMES = tuple(k.name for k in KINDS)

TRUE_TEXT = frozenset({"是", "true", "t", "1", "y", "yes"})
FALSE_TEXT = frozenset({"否", "false", "f", "0", "n", "no", ""})


def _key(text: str) -> str:
    return "".join(text.split()).lower()


def find_kind(name: str) -> Kind | None:
    """The kind a sheet or file stem names (``posts``, ``岗位``…), or None."""
    wanted = _key(name)
    return next((k for k in KINDS if wanted in {_key(a) for a in (k.name, *k.aliases)}), None)


@dataclass(frozen=True)
class RowError:
    """One reason a row was refused. ``row`` is the spreadsheet row (header = 1; 0 = the
    whole sheet); ``column`` is the column's code name."""

    sheet: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.sheet} row {self.row}, {self.column or 'sheet'}: {self.reason}"


@dataclass
class Table:
    """One kind's rows as text: ``columns`` are the code names present in the header."""

    kind: Kind
    source: str
    columns: tuple[str, ...] = ()
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@dataclass
class Tables:
    tables: dict[str, Table] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def cell_text(value: Any) -> str:
    """A cell as text: Excel numbers that are whole (codes typed as 1001) lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _add_table(out: Tables, source: str, rows: Iterable[Iterable[Any]]) -> None:
    kind = find_kind(Path(source).stem if source.lower().endswith(".csv") else source)
    it = iter(rows)
    header = [cell_text(v) for v in next(it, [])]
    if kind is None:
        if any(header):
            out.errors.append(RowError(source, 0, "", "unknown sheet; expected one of "
                                       + ", ".join(f"{k.name} ({k.label})" for k in KINDS)))
        return
    if kind.name in out.tables:
        out.errors.append(RowError(kind.name, 0, "", f"given twice ({source} and "
                                   f"{out.tables[kind.name].source})"))
        return
    table = Table(kind, source)
    out.tables[kind.name] = table
    positions = _read_header(kind, header, out.errors)
    table.columns = tuple(positions)
    stray = [i for i in range(len(header)) if not header[i]]
    for number, values in enumerate(it, start=2):
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue  # blank lines at the end of a sheet are common; they carry nothing
        if any(cells[len(header):]) or any(cells[i] for i in stray if i < len(cells)):
            out.errors.append(RowError(kind.name, number, "", "a cell outside the header's "
                                       "columns (an unquoted comma in a name?)"))
        table.rows.append((number, {name: cells[i] if i < len(cells) else ""
                                    for name, i in positions.items()}))


def _read_header(kind: Kind, header: list[str], errors: list[RowError]) -> dict[str, int]:
    by_alias = {_key(a): c.name for c in kind.columns for a in (c.name, *c.aliases)}
    positions: dict[str, int] = {}
    for i, text in enumerate(header):
        if not text:
            continue
        name = by_alias.get(_key(text))
        if name is None:
            errors.append(RowError(kind.name, 1, text, "unknown column; expected one of "
                                   + ", ".join(c.name for c in kind.columns)))
        elif name in positions:
            errors.append(RowError(kind.name, 1, name, f"column given twice ('{text}')"))
        else:
            positions[name] = i
    for column in kind.columns:
        if column.required and column.name not in positions:
            errors.append(RowError(kind.name, 1, column.name,
                                   f"required column missing ({column.name} or "
                                   f"{' / '.join(column.aliases)})"))
    return positions


# ------------------------------------------------------------------------------- reading


def read_xlsx(data: bytes) -> Tables:
    """Every sheet of a workbook; an unreadable file is refused as a whole."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError… for bad files
        raise ValidationFailed(f"not a readable XLSX workbook: {exc}",
                               {"file": ["not an XLSX workbook"]}) from None
    out = Tables()
    try:
        for sheet in book.worksheets:
            _add_table(out, sheet.title, sheet.iter_rows(values_only=True))
    finally:
        book.close()
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_csv(files: Mapping[str, bytes]) -> Tables:
    """CSV files by file name (``units.csv``, ``岗位.csv``…), one kind per file."""
    out = Tables()
    for name, data in files.items():
        _add_table(out, name, csv.reader(io.StringIO(_decode(data), newline="")))
    return out


def read_csv_dir(directory: Path) -> Tables:
    return read_csv({p.name: p.read_bytes() for p in sorted(directory.glob("*.csv"))})


# ------------------------------------------------------------------------------- writing


Rows = Mapping[str, list[dict[str, Any]]]


def _header_and_cells(kind: Kind, rows: list[dict[str, Any]], chinese: bool
                      ) -> tuple[list[str], list[list[str]]]:
    header = [c.aliases[0] if chinese else c.name for c in kind.columns]
    yes, no = ("是", "否") if chinese else ("true", "false")
    body = [[(yes if row.get(c.name) else no) if c.boolean else (row.get(c.name) or "")
             for c in kind.columns] for row in rows]
    return header, body


def write_xlsx(rows: Rows, *, chinese: bool = False) -> bytes:
    """One sheet per kind, in dependency order; headers in code names or Chinese."""
    book = Workbook(write_only=True)
    for kind in KINDS:
        sheet = book.create_sheet(kind.label if chinese else kind.name)
        header, body = _header_and_cells(kind, list(rows.get(kind.name, [])), chinese)
        sheet.append(header)
        for line in body:
            sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_csv(rows: Rows, *, chinese: bool = False) -> dict[str, bytes]:
    """One UTF-8 (BOM) CSV file per kind: ``{"units.csv": b"...", ...}``."""
    files = {}
    for kind in KINDS:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        header, body = _header_and_cells(kind, list(rows.get(kind.name, [])), chinese)
        writer.writerow(header)
        writer.writerows(body)
        files[f"{kind.label if chinese else kind.name}.csv"] = buffer.getvalue().encode(
            "utf-8-sig")
    return files
