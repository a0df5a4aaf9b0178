"""Frozen certificate documents: rendered once when a certificate is issued, stored, and
served as issued ever after.

- ``freeze`` renders the HTML snapshot (the sheet of the print page, certification/
  _sheet.html, inside certification/document.html with the stylesheets inlined and the
  QR code as inline SVG) and stores it; ``issue_certificate`` calls it in the same
  transaction, so a certificate never exists without its document. A Jinja render and a
  QR code: a few milliseconds, cheap enough for the agent's request that earns it.
- ``render_pdf`` prints the *stored* HTML with headless Chromium (about a second), so the
  PDF shows exactly what was frozen. It runs on the first download and in the
  ``flask certification freeze`` job, never while issuing. When Chromium is missing or
  fails, the HTML snapshot is served instead.
- ``backfill`` gives certificates issued before snapshots existed a document rendered from
  the data of today (``backfilled``, and the pages say so).

Services flush and never commit.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import segno
import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, undefer

from academy import chromium, dbsetup
from academy.certification import display, queries
from academy.certification.models import Certificate, CertificateDocument
from academy.db import utcnow
from academy.extensions import db
from academy.public_address import _is_loopback, last_public_address
from academy.roster.models import Agent, Posting

log = logging.getLogger(__name__)

DOCUMENT_TEMPLATE = "certification/document.html"
SHEET_TEMPLATE = "certification/_sheet.html"
# Inlined into the document in this order (the base rules first, the sheet over them).
DOCUMENT_CSS = ("css/certificate-document.css", "css/certificate.css")
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


# --- what the sheet shows -----------------------------------------------------------------


def public_base() -> str | None:
    """The site's public address: ``PUBLIC_BASE_URL``; else the address of the current request
    (when it is not a loopback one); else the last one seen. None when none is known."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        if parts.scheme and parts.netloc:
            return base.rstrip("/")
        _warn_once(f"PUBLIC_BASE_URL {base!r} is not an address like https://host: ignored")
    if has_request_context() and not _is_loopback(request.host):
        return request.host_url.rstrip("/")
    return last_public_address()


def verify_url(code: str) -> str:
    """The public verification address of a certificate, as printed and put in its QR code.

    From ``public_base`` (a frozen document keeps its address for good). Only when no public
    address is known at all does it fall back to the request's own (loopback) address; the
    admin home page then says so (``address_warning``).
    """
    base = public_base()
    if base is None:
        _warn_once(
            "no public address known (PUBLIC_BASE_URL unset, no request from outside seen): "
            "certificate QR codes point at this machine"
        )
        if has_request_context():
            return url_for("certification.verify_code", code=code, _external=True)
        base = "http://localhost"
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme
    )
    return adapter.build("certification.verify_code", {"code": code}, force_external=True)


def address_warning() -> str | None:
    """For the admin home page: what is wrong with the address printed on certificates."""
    if current_app.config.get("PUBLIC_BASE_URL") and public_base():
        return None
    seen = last_public_address()
    if seen:
        return (
            f"还没有设定本系统的对外网址，证书二维码暂用最近一次访问的网址 {seen}。"
            "请技术人员在部署设置中填写固定的对外网址。"
        )
    return (
        "还没有设定本系统的对外网址，也还没有人从外部访问过本系统："
        "此时发出的证书，二维码会指向本机，他人扫码打不开。请技术人员在部署设置中填写对外网址。"
    )


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def qr_svg(url: str) -> Markup:
    """The verification URL as an inline SVG QR code (no image file, no remote service)."""
    qr = segno.make(url, error="m", micro=False)
    svg = qr.svg_inline(
        border=2, omitsize=True, svgclass="cert-qr-code", title="扫码核验证书", dark="#000"
    )
    return Markup(svg)


def sheet_context(cert: Certificate) -> dict:
    """What certification/_sheet.html needs besides ``stamp``."""
    url = verify_url(cert.code)
    return {
        "cert": cert,
        "issuer": display.issuing_body(queries.issuer_name(cert.agent)),
        "verify_url": url,
        "qr": qr_svg(url),
        "cn_date": display.cn_date,
        "source_phrase": display.source_phrase,
    }


# --- rendering the snapshot ---------------------------------------------------------------


def _stylesheets() -> str:
    css = "\n".join(
        Path(current_app.static_folder, name).read_text(encoding="utf-8") for name in DOCUMENT_CSS
    )
    if "</style" in css.lower():
        raise ValueError("a certificate stylesheet must not contain </style>")
    return css


def template_version() -> str:
    """Fingerprint of the templates and stylesheets a snapshot is made of: stored with each
    document, so one can tell which design a certificate was frozen with."""
    env = current_app.jinja_env
    digest = hashlib.sha256()
    for name in (DOCUMENT_TEMPLATE, SHEET_TEMPLATE):
        source, _, _ = env.loader.get_source(env, name)
        digest.update(source.encode("utf-8"))
    digest.update(_stylesheets().encode("utf-8"))
    return digest.hexdigest()[:12]


def render_snapshot(cert: Certificate) -> str:
    """The self-contained HTML of the certificate as it stands now.

    Rendered through the Jinja environment directly rather than ``render_template``: no
    context processor runs, so nothing of the current request or user (large type, the
    viewer's name) gets into a document meant for everyone.
    """
    template = current_app.jinja_env.get_template(DOCUMENT_TEMPLATE)
    return template.render(
        **sheet_context(cert),
        stamp=None,  # issued, in force: the stamp of a later revocation is not part of it
        css=Markup(_stylesheets()),
        version=template_version(),
    )


def _digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def freeze(cert: Certificate, backfilled: bool = False) -> CertificateDocument:
    """Render and store the document of a certificate that has none (flushes)."""
    html = render_snapshot(cert)
    doc = CertificateDocument(
        certificate=cert,
        html=html,
        sha256=_digest(html),
        template_version=template_version(),
        rendered_at=utcnow(),
        backfilled=backfilled,
    )
    db.session.add(doc)
    db.session.flush()
    return doc


# --- reading documents --------------------------------------------------------------------


def document_for(cert_id: int) -> CertificateDocument | None:
    """The certificate's document, without its HTML or PDF loaded."""
    return db.session.scalar(
        sa.select(CertificateDocument).where(CertificateDocument.certificate_id == cert_id)
    )


def ensure_document(cert: Certificate) -> CertificateDocument:
    """The certificate's document; one rendered now (backfilled) for a certificate issued
    before documents existed. Two such requests at once: the second takes the first's."""
    doc = document_for(cert.id)
    if doc is not None:
        return doc
    dbsetup.writing()
    doc = document_for(cert.id)
    if doc is not None:
        return doc
    try:
        with db.session.begin_nested():
            doc = freeze(cert, backfilled=True)
    except IntegrityError:
        doc = document_for(cert.id)
        if doc is None:
            raise
    log.info("certificate %s had no stored document: made one from today's data", cert.code)
    return doc


def html_bytes(doc: CertificateDocument) -> bytes:
    return doc.html.encode("utf-8")


def style_hash(html: str) -> str | None:
    """The CSP source (``'sha256-…'``) that admits the document's one inline stylesheet."""
    match = _STYLE.search(html)
    if match is None:
        return None
    digest = hashlib.sha256(match.group(1).encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# --- the PDF ------------------------------------------------------------------------------


def pdf_enabled() -> bool:
    """Whether PDFs can be made here (CHROMIUM_PATH names an executable)."""
    return chromium.available(current_app.config.get("CHROMIUM_PATH"))


def render_pdf(doc: CertificateDocument) -> bool:
    """Print the stored HTML to PDF and keep it; False (logged) when Chromium is missing or
    fails — the document stays HTML only and is served as such."""
    if doc.pdf_rendered_at is not None:
        return True
    cfg = current_app.config
    pdf = chromium.html_to_pdf(
        doc.html, cfg.get("CHROMIUM_PATH"), float(cfg.get("CHROMIUM_TIMEOUT_SECONDS", 60))
    )
    if pdf is None:
        return False
    doc.pdf, doc.pdf_size, doc.pdf_rendered_at = pdf, len(pdf), utcnow()
    db.session.flush()
    return True


# --- the freeze job -----------------------------------------------------------------------


@dataclass
class FreezeState:
    certificates: int
    without_document: int
    html_only: int


def freeze_state() -> FreezeState:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))
    has_doc = sa.select(CertificateDocument.id).where(
        CertificateDocument.certificate_id == Certificate.id
    )
    missing = db.session.scalar(
        sa.select(sa.func.count()).select_from(Certificate).where(~has_doc.exists())
    )
    html_only = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CertificateDocument)
        .where(CertificateDocument.pdf_rendered_at.is_(None))
    )
    return FreezeState(int(total), int(missing), int(html_only))


def backfill(limit: int) -> int:
    """Make documents (from today's data) for up to ``limit`` certificates without one."""
    has_doc = sa.select(CertificateDocument.id).where(
        CertificateDocument.certificate_id == Certificate.id
    )
    certs = db.session.scalars(
        sa.select(Certificate)
        .options(
            joinedload(Certificate.scheme),
            joinedload(Certificate.agent).selectinload(Agent.postings).joinedload(Posting.village),
        )
        .where(~has_doc.exists())
        .order_by(Certificate.id)
        .limit(limit)
    ).all()
    for cert in certs:
        freeze(cert, backfilled=True)
    return len(certs)


def pdf_pending(limit: int, after_id: int = 0) -> list[CertificateDocument]:
    """Up to ``limit`` documents without a PDF, by id above ``after_id`` (so that a run
    moves past the ones Chromium failed on)."""
    return list(
        db.session.scalars(
            sa.select(CertificateDocument)
            .options(undefer(CertificateDocument.html))
            .where(
                CertificateDocument.pdf_rendered_at.is_(None),
                CertificateDocument.id > after_id,
            )
            .order_by(CertificateDocument.id)
            .limit(limit)
        )
    )
