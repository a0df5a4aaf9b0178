"""A township's certificates as one ZIP: the stored documents plus an index workbook.

"The township's certificates" are those the certificate list shows for it: held by agents
whose current posting (or last one, once they left) lies in one of its villages — the same
rule as ``queries.scope_certificates``, which narrows the query by the reader's scope too, so
a township head can only ever archive their own township, and an agent who moved away
leaves with their certificates. The ZIP holds what is stored (the PDF where there is one,
else the HTML snapshot); nothing is rendered here, so a bulk request stays fast, and the
page tells how many documents are HTML only and how to make their PDFs
(``flask certification freeze``). Certificates without any document (issued before
documents existed and not yet backfilled) are listed in the index only.

The ZIP is written into a SpooledTemporaryFile (memory up to 32 MB, then disk) and read in
chunks of documents, so 5,000 certificates never sit in memory at once.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from academy.audit.services import record
from academy.auth.models import User
from academy.auth.policy import Scope, agent_clause
from academy.certification import display, queries, rules
from academy.certification.models import Certificate, CertificateDocument
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.regions.models import Township
from academy.roster.models import Agent, Posting
from academy.xlsx import table_xlsx

SPOOL_BYTES = 32 * 1024 * 1024
CHUNK = 100
INDEX_NAME = "index.xlsx"
INDEX_HEADERS = (
    "证书编号",
    "持证人",
    "村社",
    "证书类别",
    "等级",
    "发证日期",
    "有效期至",
    "状态",
    "取得方式",
    "文件",
    "存档说明",
)
NO_DOCUMENT = "未存档"


@dataclass(frozen=True)
class ArchiveFilter:
    valid_only: bool = False
    issued_from: date | None = None
    issued_to: date | None = None

    def as_details(self) -> dict:
        return {
            "valid_only": self.valid_only,
            "issued_from": self.issued_from.isoformat() if self.issued_from else None,
            "issued_to": self.issued_to.isoformat() if self.issued_to else None,
        }


@dataclass(frozen=True)
class Summary:
    total: int
    with_document: int
    with_pdf: int

    @property
    def html_only(self) -> int:
        return self.with_document - self.with_pdf

    @property
    def missing(self) -> int:
        return self.total - self.with_document


@dataclass
class Entry:
    cert: Certificate
    village: str
    status: rules.CertStatus
    doc_id: int | None
    has_pdf: bool
    backfilled: bool
    filename: str | None = field(default=None)


@dataclass
class Archive:
    file: tempfile.SpooledTemporaryFile
    size: int
    filename: str
    summary: Summary


def _conditions(township: Township, f: ArchiveFilter, on: date) -> list:
    where = [agent_clause(Scope.township(township.id), Certificate.agent_id)]
    if f.valid_only:
        where.append(
            sa.or_(
                queries.status_clause(rules.CertStatus.VALID, on),
                queries.status_clause(rules.CertStatus.EXPIRING, on),
            )
        )
    if f.issued_from:
        where.append(Certificate.issued_on >= f.issued_from)
    if f.issued_to:
        where.append(Certificate.issued_on <= f.issued_to)
    return where


def _scoped(stmt: sa.Select, scope: Scope, township: Township, f: ArchiveFilter, on: date):
    return queries.scope_certificates(stmt.where(*_conditions(township, f, on)), scope)


def summary(scope: Scope, township: Township, f: ArchiveFilter, on: date) -> Summary:
    """How many certificates the ZIP would hold, with a document, with a PDF (one query)."""
    ids = _scoped(sa.select(Certificate.id), scope, township, f, on).subquery()
    total, docs, pdfs = db.session.execute(
        sa.select(
            sa.func.count(ids.c.id),
            sa.func.count(CertificateDocument.id),
            sa.func.count(CertificateDocument.pdf_rendered_at),
        )
        .select_from(ids)
        .outerjoin(CertificateDocument, CertificateDocument.certificate_id == ids.c.id)
    ).one()
    return Summary(int(total), int(docs), int(pdfs))


def _village_label(agent: Agent, township_id: int) -> str:
    here = [p for p in agent.postings if p.village.township_id == township_id]
    if not here:
        return ""
    latest = max(here, key=lambda p: (p.left_on is None, p.joined_on, p.id))
    return latest.village.name if latest.left_on is None else f"{latest.village.name}（已离开）"


def entries(scope: Scope, township: Township, f: ArchiveFilter, on: date) -> list[Entry]:
    """The certificates of the archive with what is stored of each (no HTML, no PDF)."""
    stmt = _scoped(
        sa.select(
            Certificate,
            CertificateDocument.id,
            CertificateDocument.pdf_rendered_at,
            CertificateDocument.backfilled,
        ).outerjoin(CertificateDocument, CertificateDocument.certificate_id == Certificate.id),
        scope,
        township,
        f,
        on,
    ).options(
        joinedload(Certificate.scheme),
        joinedload(Certificate.agent).selectinload(Agent.postings).joinedload(Posting.village),
    )
    out = []
    for cert, doc_id, pdf_at, backfilled in db.session.execute(stmt):
        entry = Entry(
            cert,
            _village_label(cert.agent, township.id),
            rules.certificate_status(
                cert.issued_on,
                cert.expires_on,
                cert.revoked_on,
                on,
                cert.scheme.renewal_window_days,
            ),
            doc_id,
            pdf_at is not None,
            bool(backfilled),
        )
        if doc_id is not None:
            ext = "pdf" if entry.has_pdf else "html"
            entry.filename = display.document_filename(cert.code, cert.agent.name, ext)
        out.append(entry)
    out.sort(key=lambda e: (e.village, e.cert.agent.name, e.cert.issued_on, e.cert.code))
    return out


def _index_rows(items: list[Entry]) -> list[tuple]:
    rows = []
    for e in items:
        c = e.cert
        if e.doc_id is None:
            note = "尚无存档：请技术人员生成存档后再下载"
        elif e.backfilled:
            note = "补建存档：按补建当日的资料生成"
        else:
            note = "发证时存档" + ("" if e.has_pdf else "（仅网页存档，尚无 PDF）")
        rows.append(
            (
                c.code,
                c.agent.name,
                e.village,
                c.scheme.name,
                c.scheme.level.label,
                c.issued_on.isoformat(),
                c.expires_on.isoformat(),
                e.status.label,
                c.source.label,
                e.filename or NO_DOCUMENT,
                note,
            )
        )
    return rows


def _batched(ids: list[int], n: int):
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


def _zip_time(moment: datetime | None) -> tuple:
    """A stored UTC time (or now) as the local wall-clock time a ZIP entry carries."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    local = (moment.replace(tzinfo=UTC) if moment else datetime.now(UTC)).astimezone(zone)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, 0)


def _add(zf: zipfile.ZipFile, name: str, data: bytes, moment, stored: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=_zip_time(moment))
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def write_zip(out, items: list[Entry]) -> None:
    """Every stored document of ``items`` and the index, into the binary file ``out``.

    PDFs are stored as they are (they are compressed already), HTML deflated. Documents
    are read ``CHUNK`` at a time, each as the one column needed (the PDF, or the HTML).
    """
    by_doc = {e.doc_id: e for e in items if e.doc_id is not None}
    pdf_ids = [d for d, e in by_doc.items() if e.has_pdf]
    html_ids = [d for d, e in by_doc.items() if not e.has_pdf]
    doc = CertificateDocument
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for chunk in _batched(pdf_ids, CHUNK):
            rows = db.session.execute(
                sa.select(doc.id, doc.pdf, doc.pdf_rendered_at).where(doc.id.in_(chunk))
            )
            for doc_id, pdf, at in rows:
                _add(zf, by_doc[doc_id].filename, pdf, at, stored=True)
        for chunk in _batched(html_ids, CHUNK):
            rows = db.session.execute(
                sa.select(doc.id, doc.html, doc.rendered_at).where(doc.id.in_(chunk))
            )
            for doc_id, html, at in rows:
                _add(zf, by_doc[doc_id].filename, html.encode("utf-8"), at, stored=False)
        index = table_xlsx(INDEX_HEADERS, _index_rows(items), sheet="证书清单")
        _add(zf, INDEX_NAME, index, None, stored=False)


def limit() -> int:
    return int(current_app.config.get("CERT_ARCHIVE_MAX", 5000))


def build_archive(
    actor: User, township: Township, f: ArchiveFilter, on: date | None = None
) -> Archive:
    """The ZIP of a township's certificates, audited (who, which township, how many)."""
    on = on or date.today()
    scope = Scope.of(actor)
    counts = summary(scope, township, f, on)
    if counts.total == 0:
        raise DomainError("没有符合条件的证书，未生成压缩包。请调整筛选条件。")
    if counts.total > limit():
        raise DomainError(
            f"符合条件的证书共 {counts.total} 张，超过一次下载的上限 {limit()} 张。"
            "请缩小发证日期范围，分几次下载。",
            field="issued_from",
        )
    items = entries(scope, township, f, on)
    # Handed to the response, which closes it once sent.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        write_zip(spool, items)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    record(
        actor,
        "certificate.archive_downloaded",
        township,
        f"下载{township.name}证书压缩包：{counts.total} 张（PDF {counts.with_pdf}，"
        f"仅网页存档 {counts.html_only}，未存档 {counts.missing}）",
        {
            "count": counts.total,
            "pdf": counts.with_pdf,
            "html_only": counts.html_only,
            "missing": counts.missing,
            **f.as_details(),
        },
        township.id,
    )
    return Archive(spool, size, f"{township.name}_证书_{on:%Y%m%d}.zip", counts)
