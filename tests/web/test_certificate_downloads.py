"""Downloading frozen certificates: one from its detail page, a township's as a ZIP.

The frozen certificate stays as issued after the holder is renamed, the scheme renamed
and the certificate template edited, while the live print page shows all three changes.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from academy.audit.models import AuditEvent
from academy.catalogue.models import ItemCategory
from academy.certification import documents, services
from academy.certification.models import (
    Certificate,
    CertificateDocument,
    CertificationScheme,
    CertSource,
)
from academy.extensions import db
from academy.roster.models import AgentKind, LeaveReason, Posting
from academy.xlsx import read_rows
from tests import factories

TODAY = date.today()
FAKE_PDF = b"%PDF-1.7 stored"


@dataclass
class Certs:
    valid: Certificate
    expired: Certificate
    revoked: Certificate
    west: Certificate
    moved: Certificate  # its holder served in the east, now in the west (the west's now)


def _scheme(category: ItemCategory) -> CertificationScheme:
    return db.session.scalar(
        sa.select(CertificationScheme).where(CertificationScheme.category == category)
    )


def _issue(agent, category, days_ago, source=CertSource.EARNED) -> Certificate:
    return services.issue_certificate(
        agent, _scheme(category), TODAY - timedelta(days=days_ago), source
    )


@pytest.fixture
def certs(world) -> Certs:
    services.ensure_default_schemes()
    valid = _issue(world.east_agent, ItemCategory.REGISTRATION, 30)
    expired = _issue(world.east_agent, ItemCategory.PAYMENT, 400)
    revoked = _issue(world.east_agent, ItemCategory.SPECIAL, 20)
    services.revoke_certificate(world.admin, revoked, "违规收费", TODAY - timedelta(days=2))
    west = _issue(world.west_agent, ItemCategory.REGISTRATION, 10)
    mover = factories.agent(world.east_village2, "王/迁", joined_on=TODAY - timedelta(days=300))
    mover.postings[0].left_on = TODAY - timedelta(days=50)
    mover.postings[0].leave_reason = LeaveReason.TRANSFERRED
    db.session.flush()
    db.session.add(
        Posting(
            agent=mover,
            village=world.west_village,
            kind=AgentKind.FULL_TIME,
            joined_on=TODAY - timedelta(days=50),
        )
    )
    moved = _issue(mover, ItemCategory.CERTIFICATE, 100)
    db.session.commit()
    return Certs(valid, expired, revoked, west, moved)


def _doc(cert: Certificate) -> CertificateDocument:
    return db.session.scalar(
        sa.select(CertificateDocument).where(CertificateDocument.certificate_id == cert.id)
    )


def _filename(resp) -> str:
    header = resp.headers["Content-Disposition"]
    assert header.startswith("attachment")
    return unquote(re.search(r"filename\*=UTF-8''([^;]+)", header).group(1))


@pytest.fixture
def edited_template(app):
    """The certificate template as an expert might edit it later (served from memory)."""
    env = app.jinja_env
    original = env.loader
    source, _, _ = original.get_source(env, documents.SHEET_TEMPLATE)
    assert "特发此证" in source
    edited = source.replace("特发此证", "特颁此证（新版式）")
    env.loader = ChoiceLoader([DictLoader({documents.SHEET_TEMPLATE: edited}), original])
    env.cache.clear()
    yield
    env.loader = original
    env.cache.clear()


# --- one certificate ---------------------------------------------------------------------


def test_frozen_certificate_unchanged_after_a_template_edit(world, certs, login_as, app, request):
    client = login_as(world.agent_user)
    url = f"/certificates/{certs.valid.id}/document"
    before = client.get(url)
    assert before.status_code == 200 and before.mimetype == "text/html"
    assert "特发此证" in before.get_data(as_text=True)
    frozen = before.data
    assert hashlib.sha256(frozen).hexdigest() == _doc(certs.valid).sha256

    world.east_agent.name = "张东明"
    certs.valid.scheme.name = "登记申领类代办资格（新名称）"
    db.session.commit()
    request.getfixturevalue("edited_template")

    live = client.get(f"/certificates/{certs.valid.id}/print").get_data(as_text=True)
    assert "张东明" in live and "（新名称）" in live and "特颁此证（新版式）" in live
    after = client.get(url)
    assert after.status_code == 200 and after.data == frozen  # byte for byte
    assert "张东" in after.get_data(as_text=True) and "张东明" not in after.get_data(as_text=True)
    assert _filename(after) == f"{certs.valid.code}_张东明.html"  # found by today's name
    # A certificate issued now is frozen with the edited template, and says which one.
    fresh = _issue(world.east_agent, ItemCategory.CERTIFICATE, 0)
    assert "特颁此证（新版式）" in _doc(fresh).html
    assert _doc(fresh).template_version != _doc(certs.valid).template_version


def test_html_download_is_private_and_its_csp_admits_only_its_own_style(world, certs, login_as):
    resp = login_as(world.agent_user).get(f"/certificates/{certs.valid.id}/document")
    assert resp.headers["Cache-Control"] == "private, no-store"
    csp = resp.headers["Content-Security-Policy"]
    style = re.search(r"<style>(.*?)</style>", resp.get_data(as_text=True), re.S).group(1)
    import base64

    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "sandbox" in csp and "unsafe-inline" not in csp


def test_stored_pdf_is_served_and_the_detail_page_offers_it(world, certs, login_as):
    client = login_as(world.agent_user)
    detail = client.get(f"/certificates/{certs.valid.id}").get_data(as_text=True)
    assert "下载证书（网页存档）" in detail and "发证时存档的证书原样" in detail
    doc = _doc(certs.valid)
    doc.pdf, doc.pdf_size, doc.pdf_rendered_at = FAKE_PDF, len(FAKE_PDF), doc.rendered_at
    db.session.commit()
    detail = client.get(f"/certificates/{certs.valid.id}").get_data(as_text=True)
    assert "下载证书（PDF）" in detail
    resp = client.get(f"/certificates/{certs.valid.id}/document")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data == FAKE_PDF and _filename(resp) == f"{certs.valid.code}_张东.pdf"


def test_first_download_prints_the_pdf_from_the_stored_html(world, certs, login_as, app, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; '
        'file://*) src="${a#file://}";; esac; done\n'
        'printf "%%PDF-1.7 " > "$out"; sha256sum "$src" | cut -c1-64 >> "$out"\n'
    )
    fake.chmod(0o755)
    app.config["CHROMIUM_PATH"] = str(fake)
    try:
        client = login_as(world.agent_user)
        assert "下载证书（PDF）" in client.get(f"/certificates/{certs.valid.id}").get_data(
            as_text=True
        )
        resp = client.get(f"/certificates/{certs.valid.id}/document")
    finally:
        app.config["CHROMIUM_PATH"] = ""
    doc = _doc(certs.valid)
    assert resp.mimetype == "application/pdf" and resp.data == doc.pdf
    assert doc.pdf == b"%PDF-1.7 " + doc.sha256.encode() + b"\n"  # printed from the snapshot


def test_bogus_chromium_path_falls_back_to_the_html_snapshot(world, certs, login_as, app):
    app.config["CHROMIUM_PATH"] = "/nonexistent/chromium"
    try:
        client = login_as(world.agent_user)
        detail = client.get(f"/certificates/{certs.valid.id}").get_data(as_text=True)
        resp = client.get(f"/certificates/{certs.valid.id}/document")
    finally:
        app.config["CHROMIUM_PATH"] = ""
    assert "下载证书（网页存档）" in detail
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert resp.data == _doc(certs.valid).html.encode()


def test_a_certificate_from_before_documents_gets_one_on_first_download(world, certs, login_as):
    db.session.execute(
        sa.delete(CertificateDocument).where(CertificateDocument.certificate_id == certs.valid.id)
    )
    db.session.commit()
    client = login_as(world.agent_user)
    assert "尚无存档功能" in client.get(f"/certificates/{certs.valid.id}").get_data(as_text=True)
    assert client.get(f"/certificates/{certs.valid.id}/document").status_code == 200
    assert _doc(certs.valid).backfilled
    assert "按当时的资料补建" in client.get(f"/certificates/{certs.valid.id}").get_data(
        as_text=True
    )


def test_revoked_certificate_download_warns_the_archive_has_no_stamp(world, certs, login_as):
    html = login_as(world.admin).get(f"/certificates/{certs.revoked.id}").get_data(as_text=True)
    assert "存档不带“已撤销”标记" in html


def test_who_may_download_one_certificate(world, certs, login_as, client):
    def status(user, cert):
        return login_as(user).get(f"/certificates/{cert.id}/document").status_code

    assert status(world.agent_user, certs.valid) == 200
    assert status(world.agent_user, certs.west) == 404  # not theirs
    assert status(world.east_head, certs.valid) == 200
    assert status(world.east_head, certs.moved) == 404  # served in the east, moved west
    assert status(world.west_head, certs.moved) == 200  # access follows the current posting
    assert status(world.east_head, certs.west) == 404  # another township
    assert status(world.west_head, certs.valid) == 404
    assert status(world.admin, certs.west) == 200
    assert status(world.expert, certs.valid) == 403
    with client.session_transaction() as s:
        s.clear()
    resp = client.get(f"/certificates/{certs.valid.id}/document")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- a township's ZIP --------------------------------------------------------------------


def _zip(resp) -> zipfile.ZipFile:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/zip"
    data = resp.data
    resp.close()  # as the WSGI server does: closes the spooled file
    return zipfile.ZipFile(io.BytesIO(data))


def _index(zf: zipfile.ZipFile) -> list[list[str]]:
    return [r.cells for r in read_rows(zf.read("index.xlsx"))]


def test_head_downloads_exactly_their_townships_certificates(world, certs, login_as):
    client = login_as(world.east_head)
    page = client.get("/certificates/archive").get_data(as_text=True)
    assert "东镇" in page and "符合条件的证书 3 张" in page and "仅网页存档" in page
    resp = client.post("/certificates/archive", data={})
    assert _filename(resp) == f"东镇_证书_{TODAY:%Y%m%d}.zip"
    assert resp.headers["Cache-Control"] == "private, no-store"
    zf = _zip(resp)
    east = (certs.valid, certs.expired, certs.revoked)
    expected = {f"{c.code}_张东.html" for c in east}  # not the mover's: they left with it
    assert set(zf.namelist()) == expected | {"index.xlsx"}
    assert all(i.flag_bits & 0x800 for i in zf.infolist() if not i.filename.isascii())
    assert zf.read(f"{certs.valid.code}_张东.html") == _doc(certs.valid).html.encode()
    header, *rows = _index(zf)
    assert header[:8] == [
        "证书编号",
        "持证人",
        "村社",
        "证书类别",
        "等级",
        "发证日期",
        "有效期至",
        "状态",
    ]
    by_code = {r[0]: r for r in rows}
    assert set(by_code) == {c.code for c in east}
    assert by_code[certs.valid.code][1:3] == ["张东", "东一村"]
    assert by_code[certs.valid.code][7] == "有效"
    assert by_code[certs.revoked.code][7] == "已撤销"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "certificate.archive_downloaded")
    )
    assert event.actor_id == world.east_head.id and event.township_id == world.east.id
    assert event.details["count"] == 3 and event.details["html_only"] == 3
    assert "东镇" in event.summary and "3 张" in event.summary


def test_zip_holds_the_pdf_where_there_is_one_and_lists_undocumented_ones(world, certs, login_as):
    doc = _doc(certs.valid)
    doc.pdf, doc.pdf_size, doc.pdf_rendered_at = FAKE_PDF, len(FAKE_PDF), doc.rendered_at
    db.session.execute(
        sa.delete(CertificateDocument).where(CertificateDocument.certificate_id == certs.expired.id)
    )
    db.session.commit()
    client = login_as(world.admin)
    page = client.get(f"/certificates/archive?township_id={world.east.id}").get_data(as_text=True)
    assert (
        "PDF：1 张" in page
        and "尚未存档" in page
        and "请联系技术人员" in page
        and "flask" not in page
    )
    zf = _zip(client.post("/certificates/archive", data={"township_id": world.east.id}))
    names = set(zf.namelist())
    assert f"{certs.valid.code}_张东.pdf" in names and not any(
        certs.expired.code in n for n in names
    )
    assert zf.read(f"{certs.valid.code}_张东.pdf") == FAKE_PDF
    assert zf.getinfo(f"{certs.valid.code}_张东.pdf").compress_type == zipfile.ZIP_STORED
    expired_row = next(r for r in _index(zf) if r[0] == certs.expired.code)
    assert "未存档" in expired_row


def test_zip_filters_valid_only_and_issue_dates(world, certs, login_as):
    client = login_as(world.admin)
    data = {"township_id": world.east.id, "valid_only": "y"}
    names = _zip(client.post("/certificates/archive", data=data)).namelist()
    assert sorted(names) == sorted(["index.xlsx", f"{certs.valid.code}_张东.html"])
    data = {
        "township_id": world.east.id,
        "issued_from": (TODAY - timedelta(days=40)).isoformat(),
        "issued_to": (TODAY - timedelta(days=15)).isoformat(),
    }
    names = _zip(client.post("/certificates/archive", data=data)).namelist()
    assert sorted(names) == sorted(
        ["index.xlsx", f"{certs.valid.code}_张东.html", f"{certs.revoked.code}_张东.html"]
    )


def test_admin_archives_the_west_township(world, certs, login_as):
    client = login_as(world.admin)
    zf = _zip(client.post("/certificates/archive", data={"township_id": world.west.id}))
    rows = {r[0]: r for r in _index(zf)[1:]}
    assert set(rows) == {certs.west.code, certs.moved.code}
    assert rows[certs.moved.code][2] == "西一村"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "请选择镇街"),
        ({"issued_from": "2026-02-30"}, "不是有效的日期值"),
        ({"issued_from": "2026-03-01", "issued_to": "2026-02-01"}, "结束日期不能早于开始日期"),
    ],
)
def test_bad_archive_requests_are_explained(world, certs, login_as, data, message):
    client = login_as(world.admin)
    if data:
        data = {"township_id": world.east.id, **data}
    resp = client.post("/certificates/archive", data=data)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    if data:  # the preview explains it too (with no township chosen it is just the form)
        preview = client.get("/certificates/archive", query_string=data)
        assert preview.status_code == 422 and message in preview.get_data(as_text=True)


def test_archive_over_the_cap_is_refused_with_a_clear_message(world, certs, login_as, app):
    app.config["CERT_ARCHIVE_MAX"] = 2
    try:
        client = login_as(world.east_head)
        page = client.get("/certificates/archive").get_data(as_text=True)
        resp = client.post("/certificates/archive", data={})
    finally:
        app.config["CERT_ARCHIVE_MAX"] = 5000
    assert "超过一次下载的上限 2 张" in page and "下载压缩包" not in page
    assert resp.status_code == 422
    assert "共 3 张，超过一次下载的上限 2 张" in resp.get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "certificate.archive_downloaded")
        )
        == 0
    )


def test_an_empty_archive_is_not_made(world, certs, login_as):
    data = {"township_id": world.east.id, "issued_from": TODAY.isoformat()}
    resp = login_as(world.admin).post("/certificates/archive", data=data)
    assert resp.status_code == 422 and "没有符合条件的证书" in resp.get_data(as_text=True)


def test_who_may_download_a_townships_archive(world, certs, login_as):
    head = login_as(world.east_head)
    assert head.get(f"/certificates/archive?township_id={world.west.id}").status_code == 404
    assert head.post("/certificates/archive", data={"township_id": world.west.id}).status_code == (
        404
    )
    for user in (world.expert, world.agent_user):
        client = login_as(user)
        assert client.get("/certificates/archive").status_code == 403
        assert client.post("/certificates/archive", data={}).status_code == 403


def test_archive_download_needs_csrf(world, certs, login_as, csrf_enabled):
    client = login_as(world.east_head)
    assert client.get("/certificates/archive").status_code == 200  # the preview is a GET
    assert client.post("/certificates/archive", data={}).status_code in (400, 422)


def test_certificate_list_links_to_the_archive(world, certs, login_as):
    html = login_as(world.east_head).get("/certificates/").get_data(as_text=True)
    assert 'href="/certificates/archive"' in html and "批量下载证书（ZIP）" in html
