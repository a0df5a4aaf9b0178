"""Frozen certificate documents: stored at every issue, printed to PDF later from the stored
HTML (by the job or on the first download), served as HTML when Chromium is missing."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from academy import chromium
from academy.catalogue.models import ItemCategory
from academy.certification import documents, rules, services
from academy.certification.models import (
    Certificate,
    CertificateDocument,
    CertificationScheme,
    CertSource,
)
from academy.extensions import db
from tests import factories

TODAY = date.today()
REAL_CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not chromium.available(REAL_CHROMIUM), reason="no Chromium at /usr/bin/chromium"
)


@pytest.fixture
def schemes(world):
    services.ensure_default_schemes()
    return {s.category: s for s in db.session.scalars(sa.select(CertificationScheme))}


def _doc(cert: Certificate) -> CertificateDocument:
    return db.session.scalar(
        sa.select(CertificateDocument).where(CertificateDocument.certificate_id == cert.id)
    )


def _assert_frozen(cert: Certificate) -> CertificateDocument:
    doc = _doc(cert)
    assert doc is not None and not doc.backfilled and doc.pdf is None
    assert doc.sha256 == hashlib.sha256(doc.html.encode("utf-8")).hexdigest()
    assert doc.template_version == documents.template_version()
    html = doc.html
    assert cert.code in html and cert.agent.name in html and cert.scheme.name in html
    assert "<style>" in html and ".cert-frame" in html  # the stylesheet, inlined
    assert "<svg" in html and 'class="cert-qr-code"' in html  # the QR code, inline
    # Self-contained: nothing to fetch, no script.
    assert not re.search(r"""(src|href)=|@import|url\(|<script|<link""", html)
    assert 'class="cert-void"' not in html
    return doc


def test_every_way_of_issuing_stores_the_document(world, schemes, module):
    factories.pass_module(world.east_agent, module)  # earned, inside the learning request
    [earned] = db.session.scalars(sa.select(Certificate)).all()
    assert earned.source == CertSource.EARNED
    _assert_frozen(earned)
    award = services.issue_certificate(
        world.west_agent,
        schemes[ItemCategory.PAYMENT],
        TODAY,
        CertSource.AWARD,
        world.admin,
        note="2026 年度技能大比武一等奖",
    )
    assert "经技能比武评定" in _assert_frozen(award).html
    manual = services.issue_certificate(
        world.west_agent, schemes[ItemCategory.SPECIAL], TODAY, CertSource.MANUAL, world.admin
    )
    assert "经审核认定" in _assert_frozen(manual).html


def test_a_renewal_gets_its_own_document(world, schemes, module):
    old = services.issue_certificate(
        world.east_agent,
        schemes[ItemCategory.REGISTRATION],
        rules.add_months(TODAY, -12) + timedelta(days=20),
        CertSource.MANUAL,
        world.admin,
    )
    factories.pass_module(world.east_agent, module)  # the refresher inside the window
    renewed = db.session.scalar(sa.select(Certificate).where(Certificate.renewed_from_id == old.id))
    doc = _assert_frozen(renewed)
    assert "予以续期" in doc.html and doc.html != _doc(old).html


def test_public_base_url_goes_into_the_frozen_qr_code(app, world, schemes):
    app.config["PUBLIC_BASE_URL"] = "https://academy.example.gov.cn/xc/"
    try:
        cert = services.issue_certificate(
            world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    assert f"https://academy.example.gov.cn/xc/verify/{cert.code}" in _doc(cert).html


# --- Chromium --------------------------------------------------------------------------


def _fake_chromium(tmp_path, body: str) -> str:
    """A stand-in for Chromium that records its arguments and runs ``body`` (sh)."""
    script = tmp_path / "chromium"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/args"\n'
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; esac; done\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return str(script)


def test_chromium_is_called_headless_with_a_fresh_profile_on_the_stored_file(tmp_path):
    path = _fake_chromium(tmp_path, 'printf "%%PDF-1.4 fake" > "$out"')
    assert chromium.html_to_pdf("<p>证书</p>", path, timeout=10) == b"%PDF-1.4 fake"
    args = (tmp_path / "args").read_text().splitlines()
    for flag in (*chromium.FLAGS, "--headless"):
        assert flag in args
    profile = next(a for a in args if a.startswith("--user-data-dir="))
    assert args[-1].startswith("file:///") and args[-1].endswith("/document.html")
    assert not os.path.exists(profile.split("=", 1)[1])  # the temporary folder is gone


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("echo 'crashed' >&2; exit 3", "exit 3"),
        ('printf "not a pdf" > "$out"', "exit 0"),
        ("sleep 5", "longer than"),
    ],
)
def test_a_failing_chromium_logs_why_and_gives_none(tmp_path, caplog, body, reason):
    path = _fake_chromium(tmp_path, body)
    with caplog.at_level(logging.ERROR, logger="academy.chromium"):
        assert chromium.html_to_pdf("<p>x</p>", path, timeout=0.5) is None
    assert reason in caplog.text


def test_missing_chromium_logs_and_the_document_stays_html(app, world, schemes, caplog):
    cert = services.issue_certificate(
        world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
    )
    app.config["CHROMIUM_PATH"] = "/nonexistent/chromium"
    try:
        with caplog.at_level(logging.WARNING, logger="academy.chromium"):
            assert documents.render_pdf(_doc(cert)) is False
    finally:
        app.config["CHROMIUM_PATH"] = ""
    assert "no Chromium at /nonexistent/chromium" in caplog.text
    assert _doc(cert).pdf_rendered_at is None


# --- the freeze job --------------------------------------------------------------------


@pytest.fixture
def freeze(app, db_session):
    runner = app.test_cli_runner()

    def run(*args: str, chromium_path: str = ""):
        app.config["CHROMIUM_PATH"] = chromium_path
        try:
            return runner.invoke(args=["certification", "freeze", *args])
        finally:
            app.config["CHROMIUM_PATH"] = ""

    return run


def _legacy(cert: Certificate) -> None:
    """Make ``cert`` look issued before documents existed."""
    db.session.execute(
        sa.delete(CertificateDocument).where(CertificateDocument.certificate_id == cert.id)
    )
    db.session.expire_all()


def test_freeze_backfills_older_certificates_from_current_data_and_says_so(world, schemes, freeze):
    cert = services.issue_certificate(
        world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
    )
    _legacy(cert)
    world.east_agent.name = "张东明"  # renamed since: the backfill shows today's name
    db.session.flush()
    result = freeze(chromium_path="/nonexistent/chromium")
    assert result.exit_code == 0, result.output
    assert "补建网页存档 1 张" in result.output and "按当前资料" in result.output
    assert "未找到 Chromium（CHROMIUM_PATH=/nonexistent/chromium）" in result.output
    doc = _doc(cert)
    assert doc.backfilled and "张东明" in doc.html and doc.pdf is None
    again = freeze()  # idempotent
    assert again.exit_code == 0 and "补建" not in again.output
    assert "PDF 已关闭（CHROMIUM_PATH 为空），没有生成 PDF；1 张证书" in again.output
    assert _doc(cert).sha256 == doc.sha256


def test_freeze_prints_pdfs_with_a_fake_chromium_and_skips_done_ones(
    world, schemes, freeze, tmp_path
):
    certs = [
        services.issue_certificate(
            world.east_agent, schemes[c], TODAY, CertSource.MANUAL, world.admin
        )
        for c in (ItemCategory.PAYMENT, ItemCategory.SPECIAL)
    ]
    fake = _fake_chromium(tmp_path, 'cat "${1#file://}" >/dev/null; printf "%%PDF-1.7 ok" > "$out"')
    result = freeze("--limit", "1", chromium_path=fake)
    assert result.exit_code == 0, result.output
    assert "生成 PDF 1 张；仍仅有网页存档的证书 1 张" in result.output
    result = freeze(chromium_path=fake)
    assert "生成 PDF 1 张；仍仅有网页存档的证书 0 张" in result.output
    for cert in certs:
        doc = _doc(cert)
        assert doc.pdf == b"%PDF-1.7 ok" and doc.pdf_size == 11 and doc.pdf_rendered_at
    assert "没有需要补建的存档" in freeze(chromium_path=fake).output


def test_freeze_reports_chromium_failures_with_exit_1(world, schemes, freeze, tmp_path):
    services.issue_certificate(
        world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
    )
    result = freeze(chromium_path=_fake_chromium(tmp_path, "exit 1"))
    assert result.exit_code == 1
    assert "失败 1 张" in result.output and "仍仅有网页存档的证书 1 张" in result.output


@needs_chromium
def test_freeze_prints_a_real_one_page_pdf_from_the_stored_html(world, schemes, freeze):
    cert = services.issue_certificate(
        world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
    )
    stored = _doc(cert).sha256
    world.east_agent.name = "改名后"  # the PDF is printed from the snapshot, not from today
    db.session.flush()
    result = freeze(chromium_path=REAL_CHROMIUM)
    assert result.exit_code == 0, result.output
    doc = _doc(cert)
    assert doc.pdf.startswith(b"%PDF-") and doc.sha256 == stored
    assert re.search(rb"/Type\s*/Pages\s*/Count 1\b", doc.pdf)  # one A4 page
    assert re.search(rb"/MediaBox \[0 0 594\.9\d* 841\.9\d*\]", doc.pdf)  # A4


def test_without_public_base_url_a_document_made_outside_a_request_uses_the_address_seen(
    app, world, schemes, client, login_as, tmp_path
):
    app.config["PUBLIC_ADDRESS_FILE"] = str(tmp_path / "public_address")
    app.extensions.pop("public_address", None)
    try:
        login_as(world.admin)
        home = client.get("/home").get_data(as_text=True)  # through localhost: not remembered
        assert "二维码会指向本机" in home
        public = "http://academy.xinchang.example"
        with client.session_transaction(base_url=public) as s:  # signed in on that host too
            s["_user_id"] = world.admin.get_id()
        assert client.get("/home", base_url=public).status_code == 200
        app.extensions.pop("public_address", None)  # a new process (the cron job) reads the file
        cert = services.issue_certificate(
            world.east_agent, schemes[ItemCategory.PAYMENT], TODAY, CertSource.MANUAL
        )
        html = _doc(cert).html
        assert f"http://academy.xinchang.example/verify/{cert.code}" in html
        assert "localhost" not in html
        home = client.get("/home").get_data(as_text=True)
        assert "暂用最近一次访问的网址 http://academy.xinchang.example" in home
    finally:
        app.config["PUBLIC_ADDRESS_FILE"] = None
        app.extensions.pop("public_address", None)
