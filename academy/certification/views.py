"""Certificates: the holder's own list, the scoped list for admins and township heads,
detail, revocation, manual issue (competition awards), the printable certificate, and
the public verification page reached from the QR code."""

from __future__ import annotations

import io
import time
from datetime import date

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user

from academy.auth.models import Role
from academy.auth.policy import (
    Permission,
    can,
    current_scope,
    requested_township,
    requires,
    visible_townships,
)
from academy.certification import archive, display, documents, queries, renewal, services
from academy.certification.forms import ArchiveForm, IssueForm, RevokeForm
from academy.certification.models import Certificate, CertSource
from academy.certification.rules import CertStatus
from academy.errors import render_error
from academy.extensions import db, limiter
from academy.forms import service_call
from academy.pagination import paginate
from academy.roster.models import Agent

bp = Blueprint("certification", __name__)

PER_PAGE = 25
NOT_FOUND = "证书不存在或编号有误"


@bp.context_processor
def _helpers():
    return {
        "cn_date": display.cn_date,
        "status_class": display.status_class,
        "source_phrase": display.source_phrase,
        "status_of": lambda cert: services.status_of(cert, date.today()),
    }


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 and int(raw) > 0 else None


# --- lists ------------------------------------------------------------------------------


@bp.get("/certificates/")
@requires(Permission.VIEW_CERTIFICATES)
def index():
    scope = current_scope()
    if current_user.role == Role.AGENT:
        certs = queries.own_certificates(scope)
        today = date.today()
        return render_template(
            "certification/mine.html",
            certs=certs,
            today=today,
            renewals=renewal.renewals(current_user.agent, today),
        )
    args = request.args
    villages = queries.village_choices(scope)
    schemes = queries.all_schemes()
    village_id, scheme_id = _int_arg("village_id"), _int_arg("scheme_id")
    status = args.get("status", "")
    f = queries.CertFilter(
        q=args.get("q", "").strip()[:40],
        status=CertStatus(status) if status in {s.value for s in CertStatus} else None,
        scheme_id=scheme_id if scheme_id in {s.id for s in schemes} else None,
        village_id=village_id if village_id in {v for v, _ in villages} else None,
        agent_id=_int_arg("agent_id"),
    )
    holder = queries.holder_or_404(scope, f.agent_id) if f.agent_id else None
    page = paginate(queries.list_statement(scope, f, date.today()), per_page=PER_PAGE)
    return render_template(
        "certification/index.html",
        page=page,
        f=f,
        villages=villages,
        schemes=schemes,
        statuses=list(CertStatus),
        holder=holder,
    )


# --- one certificate --------------------------------------------------------------------


def _render_detail(cert: Certificate, revoke_form: RevokeForm | None = None, code: int = 200):
    chain = queries.renewal_chain(cert)
    people = queries.user_names({cert.issued_by_id} - {None})
    if (
        can(current_user, Permission.MANAGE_CERTIFICATES)
        and revoke_form is None
        and cert.revoked_on is None
    ):
        revoke_form = RevokeForm()
    return (
        render_template(
            "certification/detail.html",
            cert=cert,
            status=services.status_of(cert, date.today()),
            chain=chain,
            issued_by=people.get(cert.issued_by_id),
            revoke_form=revoke_form if cert.revoked_on is None else None,
            posting=cert.agent.current_posting,
            doc=documents.document_for(cert.id),
            pdf_enabled=documents.pdf_enabled(),
        ),
        code,
    )


@bp.get("/certificates/<id:cert_id>")
@requires(Permission.VIEW_CERTIFICATES)
def detail(cert_id: int):
    return _render_detail(queries.certificate_or_404(current_scope(), cert_id))


@bp.post("/certificates/<id:cert_id>/revoke")
@requires(Permission.MANAGE_CERTIFICATES)
def revoke(cert_id: int):
    cert = queries.certificate_or_404(current_scope(), cert_id)
    form = RevokeForm()
    if form.validate_on_submit():
        ok, _ = service_call(
            form, services.revoke_certificate, current_user, cert, form.reason.data
        )
        if ok:
            flash(f"已撤销 {cert.agent.name} 的证书 {cert.code}。", "success")
            return redirect(url_for("certification.detail", cert_id=cert.id))
    # 422: the response is an error, so web.py rolls back anything the attempt touched.
    return _render_detail(cert, form, 422)


@bp.route("/certificates/issue", methods=["GET", "POST"])
@requires(Permission.MANAGE_CERTIFICATES)
def issue():
    form = IssueForm()
    schemes = [s for s in queries.all_schemes() if s.active]
    form.scheme_id.choices = [(s.id, display.scheme_title(s.name, s.level.label)) for s in schemes]
    if request.method == "GET" and _int_arg("agent_id"):
        form.agent_id.data = _int_arg("agent_id")
    agent = db.session.get(Agent, form.agent_id.data) if _valid_id(form.agent_id.data) else None
    if form.validate_on_submit():
        if agent is None:
            form.agent_id.errors = [*form.agent_id.errors, "找不到该编号的代办员，请核对。"]
        else:
            scheme = next(s for s in schemes if s.id == form.scheme_id.data)
            ok, cert = service_call(
                form,
                services.issue_certificate,
                agent,
                scheme,
                form.issued_on.data,
                CertSource(form.source.data),
                actor=current_user,
                note=form.note.data,
            )
            if ok:
                flash(f"已为 {agent.name} 登记证书，编号 {cert.code}。", "success")
                return redirect(url_for("certification.detail", cert_id=cert.id))
    code = 422 if request.method == "POST" else 200
    return render_template("certification/issue.html", form=form, agent=agent), code


def _valid_id(value) -> bool:
    return isinstance(value, int) and 0 < value <= 2**31 - 1


# --- the printed certificate ------------------------------------------------------------


@bp.get("/certificates/<id:cert_id>/print")
@requires(Permission.VIEW_CERTIFICATES)
def print_certificate(cert_id: int):
    """The live certificate, for viewing and printing: today's data, with a stamp when it is
    no longer in force. The frozen copy as issued is ``document``."""
    cert = queries.certificate_or_404(current_scope(), cert_id)
    status = services.status_of(cert, date.today())
    return render_template(
        "certification/print.html",
        **documents.sheet_context(cert),
        status=status,
        stamp=display.void_stamp(status),
    )


@bp.get("/certificates/<id:cert_id>/document")
@requires(Permission.VIEW_CERTIFICATES)
def document(cert_id: int):
    """The certificate's stored document as issued: the PDF (printed from the stored HTML
    on the first download), or the HTML snapshot when no PDF can be made here."""
    cert = queries.certificate_or_404(current_scope(), cert_id)
    doc = documents.ensure_document(cert)
    if doc.pdf_rendered_at is None and documents.pdf_enabled():
        documents.render_pdf(doc)
    name = display.document_filename(cert.code, cert.agent.name, "pdf")
    if doc.pdf_rendered_at is not None:
        return _private_download(doc.pdf, "application/pdf", name)
    return _html_download(doc.html, display.document_filename(cert.code, cert.agent.name, "html"))


def _private_download(data: bytes, mimetype: str, filename: str):
    """An attachment with a UTF-8 file name, never cached: certificates carry personal data."""
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _html_download(html: str, filename: str):
    """The HTML snapshot as a download. Should a browser show it anyway, the CSP of this one
    response admits its own inline stylesheet (by hash) and nothing else: no script, no
    request to anywhere, and a sandbox."""
    response = _private_download(html.encode("utf-8"), "text/html; charset=utf-8", filename)
    style = documents.style_hash(html) or "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {style}; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'; sandbox"
    )
    return response


# --- a township's certificates as one ZIP ------------------------------------------------


@bp.route("/certificates/archive", methods=["GET", "POST"])
@requires(Permission.DOWNLOAD_ARCHIVES)
def archive_page():
    """Preview (GET: how many, how many HTML only) and download (POST) of a township's ZIP.
    A township head gets their own township; another township's id is a 404."""
    posted = request.method == "POST"
    source = request.form if posted else request.args
    form = ArchiveForm() if posted else ArchiveForm(request.args, meta={"csrf": False})
    scope = current_scope()
    form.township_id.choices = [(t.id, t.name) for t in visible_townships(scope)]
    township = requested_township(scope, source)
    if township is not None and not source.get("township_id"):
        form.township_id.data = township.id
        form.township_id.raw_data = [str(township.id)]
    asked = posted or bool(source) or township is not None
    valid = asked and form.validate() and township is not None
    f = archive.ArchiveFilter(
        bool(form.valid_only.data), form.issued_from.data, form.issued_to.data
    )
    if posted and valid:
        ok, built = service_call(form, archive.build_archive, current_user, township, f)
        if ok:
            response = send_file(
                built.file,
                mimetype="application/zip",
                as_attachment=True,
                download_name=built.filename,
            )
            response.content_length = built.size
            response.headers["Cache-Control"] = "private, no-store"
            return response
    counts = archive.summary(scope, township, f, date.today()) if valid else None
    page = render_template(
        "certification/archive.html",
        form=form,
        township=township,
        counts=counts,
        limit=archive.limit(),
        head=scope.single_township is not None,
    )
    # 422 on a refused download or bad filters: web.py rolls back what the attempt touched.
    return page, 422 if (posted or (asked and not valid)) else 200


# --- public verification ----------------------------------------------------------------
# No login, and nothing here touches the session: an anonymous visitor gets no cookie.


def _limit() -> tuple[int, int]:
    cfg = current_app.config
    return int(cfg.get("VERIFY_MAX_LOOKUPS", 30)), int(cfg.get("VERIFY_WINDOW_SECONDS", 600))


def _verify_limit() -> str:
    limit, window = _limit()
    return f"{limit} per {window} second"


def _not_a_lookup() -> bool:
    """A code typed in another form is redirected to its canonical URL: not counted."""
    code = (request.view_args or {}).get("code", "")
    canonical = display.normalise_code(code[:80])
    return canonical != code and display.looks_like_code(canonical)


def _too_many_lookups(request_limit):
    wait = max(1, int(request_limit.reset_at - time.time()))
    minutes = max(1, (wait + 59) // 60)
    body, code = render_error(429, f"证书核验查询太频繁，请 {minutes} 分钟后再试。")
    response = _public(current_app.make_response((body, code)))
    response.headers["Retry-After"] = str(wait)
    return response


def _public(response):
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


# Other features' documents carrying a code of the same format (e.g. competition award
# certificates) register a lookup: code → the facts to show, or None.
OTHER_DOCUMENTS: list = []


def verifiable(lookup):
    OTHER_DOCUMENTS.append(lookup)
    return lookup


@bp.get("/verify")
def verify():
    raw = request.args.get("code")
    if raw is None:
        return _public(current_app.make_response(render_template("certification/verify.html")))
    code = display.normalise_code(raw[:80])
    if not code:
        page = render_template("certification/verify.html", error="请输入证书编号。")
        return _public(current_app.make_response((page, 400)))
    return redirect(url_for("certification.verify_code", code=code))


@bp.get("/verify/<code>")
@limiter.limit(
    _verify_limit,
    key_func=get_remote_address,
    exempt_when=_not_a_lookup,
    on_breach=_too_many_lookups,
)
def verify_code(code: str):
    canonical = display.normalise_code(code[:80])
    if canonical != code and display.looks_like_code(canonical):
        return redirect(url_for("certification.verify_code", code=canonical))
    cert = queries.by_code(canonical) if display.looks_like_code(canonical) else None
    if cert is None and display.looks_like_code(canonical):
        award = next((f for f in (look(canonical) for look in OTHER_DOCUMENTS) if f), None)
        if award is not None:
            page = render_template("certification/verify.html", award=award, today=date.today())
            return _public(current_app.make_response(page))
    if cert is None:
        page = render_template("certification/verify.html", error=NOT_FOUND, typed=code[:40])
        return _public(current_app.make_response((page, 404)))
    status = services.status_of(cert, date.today())
    page = render_template(
        "certification/verify.html",
        found={
            "code": cert.code,
            "holder": display.mask_name(cert.agent.name),
            "scheme": cert.scheme.name,
            "level": cert.scheme.level.label,
            "issued_on": cert.issued_on,
            "expires_on": cert.expires_on,
            "status": status,
            "revoked_on": cert.revoked_on if status == CertStatus.REVOKED else None,
            "issuer": display.issuing_body(queries.issuer_name(cert.agent)),
        },
        today=date.today(),
    )
    return _public(current_app.make_response(page))
