"""Certificates through the web: own list, scoped list and detail, revoke, manual issue,
the printable certificate with its QR code, and the public verification page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from academy.audit.models import AuditEvent
from academy.catalogue.models import ItemCategory
from academy.certification import services
from academy.certification.display import cn_date
from academy.certification.models import Certificate, CertificationScheme, CertSource
from academy.extensions import db
from academy.roster.models import AgentKind, LeaveReason, Posting
from tests import factories

TODAY = date.today()


@dataclass
class Certs:
    schemes: dict[ItemCategory, CertificationScheme]
    valid: Certificate
    expired: Certificate
    revoked: Certificate
    west: Certificate
    moved: Certificate  # held by an agent who moved from the east to the west township


def _scheme(category: ItemCategory) -> CertificationScheme:
    return db.session.scalar(
        sa.select(CertificationScheme).where(CertificationScheme.category == category)
    )


@pytest.fixture
def certs(world) -> Certs:
    services.ensure_default_schemes()
    schemes = {c: _scheme(c) for c in ItemCategory}
    valid = services.issue_certificate(
        world.east_agent,
        schemes[ItemCategory.REGISTRATION],
        TODAY - timedelta(days=30),
        CertSource.EARNED,
    )
    expired = services.issue_certificate(
        world.east_agent,
        schemes[ItemCategory.PAYMENT],
        TODAY - timedelta(days=400),
        CertSource.EARNED,
    )
    revoked = services.issue_certificate(
        world.east_agent,
        schemes[ItemCategory.SPECIAL],
        TODAY - timedelta(days=20),
        CertSource.EARNED,
    )
    services.revoke_certificate(
        world.admin, revoked, "代办时违规收取费用", TODAY - timedelta(days=2)
    )
    west = services.issue_certificate(
        world.west_agent,
        schemes[ItemCategory.REGISTRATION],
        TODAY - timedelta(days=10),
        CertSource.EARNED,
    )
    mover = factories.agent(world.east_village2, "王迁", joined_on=TODAY - timedelta(days=300))
    old = mover.postings[0]
    old.left_on, old.leave_reason = TODAY - timedelta(days=50), LeaveReason.TRANSFERRED
    db.session.flush()
    db.session.add(
        Posting(
            agent=mover,
            village=world.west_village,
            kind=AgentKind.FULL_TIME,
            joined_on=TODAY - timedelta(days=50),
        )
    )
    moved = services.issue_certificate(
        mover, schemes[ItemCategory.CERTIFICATE], TODAY - timedelta(days=100), CertSource.EARNED
    )
    db.session.commit()
    return Certs(schemes, valid, expired, revoked, west, moved)


def _row(html: str, code: str) -> str:
    """The table row that shows certificate ``code``."""
    rows = [r for r in re.split(r"<tr[ >]", html) if code in r]
    assert len(rows) == 1, code
    return rows[0]


# --- the agent's own certificates -------------------------------------------------------


def test_agent_sees_own_certificates_with_status_and_not_others(world, certs, login_as):
    client = login_as(world.agent_user)
    resp = client.get("/certificates/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "我的证书" in html
    assert "有效" in _row(html, certs.valid.code)
    assert "已过期" in _row(html, certs.expired.code)
    assert "已撤销" in _row(html, certs.revoked.code)
    assert f"/certificates/{certs.valid.id}/print" in html
    assert certs.valid.expires_on.isoformat() in _row(html, certs.valid.code)
    assert certs.west.code not in html and certs.moved.code not in html
    assert client.get(f"/certificates/{certs.valid.id}").status_code == 200
    for url in (f"/certificates/{certs.west.id}", f"/certificates/{certs.west.id}/print"):
        assert client.get(url).status_code == 404


def test_agent_sees_revocation_reason_on_own_detail_but_cannot_revoke(world, certs, login_as):
    client = login_as(world.agent_user)
    html = client.get(f"/certificates/{certs.revoked.id}").get_data(as_text=True)
    assert "代办时违规收取费用" in html and "撤销证书" not in html
    resp = client.post(f"/certificates/{certs.valid.id}/revoke", data={"reason": "x"})
    assert resp.status_code == 403


def test_agent_nav_links_to_my_certificates(world, login_as):
    html = login_as(world.agent_user).get("/home").get_data(as_text=True)
    assert 'href="/certificates/"' in html and "我的证书" in html


def test_expert_may_not_list_certificates(world, certs, login_as):
    client = login_as(world.expert)
    assert client.get("/certificates/").status_code == 403
    assert client.get(f"/certificates/{certs.valid.id}").status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    resp = client.get("/certificates/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --- township heads and admins ----------------------------------------------------------


def test_head_sees_only_certificates_of_agents_posted_in_the_township(world, certs, login_as):
    client = login_as(world.east_head)
    html = client.get("/certificates/").get_data(as_text=True)
    for cert in (certs.valid, certs.expired, certs.revoked):
        assert cert.code in html
    assert certs.west.code not in html
    assert client.get(f"/certificates/{certs.west.id}").status_code == 404
    assert client.get(f"/certificates/{certs.west.id}/print").status_code == 404
    # The holder served in the east and moved west: their certificates went with them.
    assert certs.moved.code not in html
    assert client.get(f"/certificates/{certs.moved.id}").status_code == 404

    west = login_as(world.west_head).get("/certificates/").get_data(as_text=True)
    assert certs.west.code in west and certs.moved.code in west
    assert certs.valid.code not in west


def test_head_cannot_widen_scope_with_filters(world, certs, login_as):
    client = login_as(world.east_head)
    for query in (f"village_id={world.west_village.id}", f"q={certs.west.code}"):
        html = client.get(f"/certificates/?{query}").get_data(as_text=True)
        assert f"<code>{certs.west.code}</code>" not in html, query
        # A village outside the township is not offered and is ignored; the rest find nothing.
        assert ("没有符合条件的证书" in html) == (not query.startswith("village")), query


def test_agent_filter_names_nobody_outside_the_scope(world, certs, login_as):
    """?agent_id= of someone else's agent is a 404 that does not say who they are (it used
    to print the holder's full name in the heading for any id)."""
    client = login_as(world.east_head)
    for agent in (world.west_agent, certs.moved.agent):  # another township; moved away
        resp = client.get(f"/certificates/?agent_id={agent.id}")
        assert resp.status_code == 404 and agent.name not in resp.get_data(as_text=True)
    html = client.get(f"/certificates/?agent_id={world.east_agent.id}").get_data(as_text=True)
    assert world.east_agent.name in html and certs.valid.code in html
    west = login_as(world.west_head).get(f"/certificates/?agent_id={certs.moved.agent.id}")
    assert west.status_code == 200 and certs.moved.code in west.get_data(as_text=True)


def test_list_filters_by_status_scheme_village_and_search(world, certs, login_as):
    client = login_as(world.admin)

    def codes(query: str) -> set[str]:
        html = client.get(f"/certificates/?{query}").get_data(as_text=True)
        every = {
            c.code for c in (certs.valid, certs.expired, certs.revoked, certs.west, certs.moved)
        }
        return {c for c in every if f"<code>{c}</code>" in html}

    assert codes("") == {
        certs.valid.code,
        certs.expired.code,
        certs.revoked.code,
        certs.west.code,
        certs.moved.code,
    }
    assert codes("status=valid") == {certs.valid.code, certs.west.code, certs.moved.code}
    assert codes("status=expired") == {certs.expired.code}
    assert codes("status=revoked") == {certs.revoked.code}
    assert codes("status=expiring") == set()
    reg = certs.schemes[ItemCategory.REGISTRATION]
    assert codes(f"scheme_id={reg.id}") == {certs.valid.code, certs.west.code}
    assert codes(f"village_id={world.west_village.id}") == {certs.west.code, certs.moved.code}
    assert codes("q=李西") == {certs.west.code}
    typed = "-".join([certs.valid.code[:4], certs.valid.code[4:]]).lower()
    assert codes(f"q={typed}") == {certs.valid.code}
    assert codes(f"agent_id={world.east_agent.id}&status=valid") == {certs.valid.code}


def test_list_is_paginated(world, certs, login_as):
    scheme = certs.schemes[ItemCategory.CERTIFICATE]
    for n in range(26):
        services.issue_certificate(
            world.east_agent, scheme, TODAY - timedelta(days=n), CertSource.MANUAL, note="批量"
        )
    db.session.commit()
    client = login_as(world.admin)
    first = client.get("/certificates/").get_data(as_text=True)
    assert "第 1 / 2 页" in first
    assert client.get("/certificates/?page=2").status_code == 200
    assert client.get("/certificates/?page=3").status_code == 404


def test_detail_shows_holder_source_and_renewal_chain(world, certs, login_as):
    renewed = services.issue_certificate(
        world.east_agent,
        certs.valid.scheme,
        certs.valid.expires_on - timedelta(days=10),
        CertSource.RENEWED,
        renewed_from=certs.valid,
    )
    db.session.commit()
    client = login_as(world.east_head)
    html = client.get(f"/certificates/{renewed.id}").get_data(as_text=True)
    assert "张东" in html and "复训续期" in html and "续期记录" in html
    assert certs.valid.code in html and "未生效" in html  # starts the day after the old one ends
    older = client.get(f"/certificates/{certs.valid.id}").get_data(as_text=True)
    assert renewed.code in older
    # Only an admin gets the revocation form.
    assert "撤销原因" not in older


def test_roster_detail_links_to_the_agents_certificates(world, certs, login_as):
    html = login_as(world.admin).get(f"/roster/{world.east_agent.id}").get_data(as_text=True)
    assert f"/certificates/?agent_id={world.east_agent.id}" in html
    assert f"/certificates/issue?agent_id={world.east_agent.id}" in html


# --- revoking ---------------------------------------------------------------------------


def _revocations() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "certificate.revoked")
    )


def test_admin_revokes_with_a_reason_and_it_is_audited(world, certs, login_as):
    client = login_as(world.admin)
    before = _revocations()
    for reason in ("", "   "):
        resp = client.post(f"/certificates/{certs.valid.id}/revoke", data={"reason": reason})
        assert resp.status_code == 422
        assert "请填写撤销原因" in resp.get_data(as_text=True)
    db.session.refresh(certs.valid)
    assert certs.valid.revoked_on is None and _revocations() == before

    resp = client.post(
        f"/certificates/{certs.valid.id}/revoke", data={"reason": "冒名顶替参加考核"}
    )
    assert resp.status_code == 302
    db.session.refresh(certs.valid)
    assert certs.valid.revoked_on == TODAY and certs.valid.revoke_reason == "冒名顶替参加考核"
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "certificate.revoked")
        .order_by(AuditEvent.id.desc())
    )
    assert _revocations() == before + 1
    assert event.actor_id == world.admin.id and event.object_id == certs.valid.id
    assert event.township_id == world.east.id
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已撤销" in html and "冒名顶替参加考核" in html


def test_revoking_twice_is_refused_in_chinese(world, certs, login_as):
    client = login_as(world.admin)
    resp = client.post(f"/certificates/{certs.revoked.id}/revoke", data={"reason": "再次"})
    assert resp.status_code == 422
    assert "该证书已被撤销" in resp.get_data(as_text=True)
    db.session.refresh(certs.revoked)
    assert certs.revoked.revoke_reason == "代办时违规收取费用"


def test_head_cannot_revoke(world, certs, login_as):
    resp = login_as(world.east_head).post(
        f"/certificates/{certs.valid.id}/revoke", data={"reason": "不该允许"}
    )
    assert resp.status_code == 403
    db.session.refresh(certs.valid)
    assert certs.valid.revoked_on is None


# --- issuing by hand (competition awards) -----------------------------------------------


def _issue_data(world, certs, **over) -> dict:
    data = {
        "agent_id": world.west_agent.id,
        "scheme_id": certs.schemes[ItemCategory.SPECIAL].id,
        "source": CertSource.AWARD.value,
        "issued_on": TODAY.isoformat(),
        "note": "2026 年度技能大比武一等奖",
    }
    data.update(over)
    return data


def _count_certs() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))


def test_admin_issues_an_award_certificate(world, certs, login_as):
    client = login_as(world.admin)
    form = client.get(f"/certificates/issue?agent_id={world.west_agent.id}")
    assert form.status_code == 200 and "李西" in form.get_data(as_text=True)
    resp = client.post("/certificates/issue", data=_issue_data(world, certs))
    assert resp.status_code == 302
    cert = db.session.scalar(sa.select(Certificate).order_by(Certificate.id.desc()).limit(1))
    assert cert.agent_id == world.west_agent.id and cert.source == CertSource.AWARD
    assert cert.note == "2026 年度技能大比武一等奖" and cert.issued_by_id == world.admin.id
    assert cert.issued_on == TODAY and cert.expires_on > TODAY
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "certificate.issued", AuditEvent.object_id == cert.id
        )
    )
    assert event.actor_id == world.admin.id and event.township_id == world.west.id
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert cert.code in html and "技能比武授予" in html


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"note": ""}, "请填写说明"),
        ({"note": "   "}, "请填写说明"),
        ({"agent_id": ""}, "请填写代办员编号"),
        ({"agent_id": "99999999"}, "找不到该编号的代办员"),
        ({"agent_id": "abc"}, "整数"),
        ({"issued_on": (TODAY + timedelta(days=1)).isoformat()}, "不能晚于今天"),
        ({"issued_on": "2026-02-30"}, "不是有效的日期值"),
        ({"source": CertSource.EARNED.value}, "请从列表中选择一项"),
        ({"scheme_id": "999999"}, "请从列表中选择一项"),
    ],
)
def test_issue_validation_errors_are_chinese_and_write_nothing(
    world, certs, login_as, over, message
):
    before = _count_certs()
    resp = login_as(world.admin).post("/certificates/issue", data=_issue_data(world, certs, **over))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert _count_certs() == before


def test_only_admins_issue(world, certs, login_as):
    for user in (world.east_head, world.agent_user, world.expert):
        client = login_as(user)
        assert client.get("/certificates/issue").status_code == 403
        assert client.post("/certificates/issue", data=_issue_data(world, certs)).status_code == 403


# --- the printed certificate ------------------------------------------------------------


def test_print_page_has_full_name_code_issuer_and_inline_qr(world, certs, login_as):
    resp = login_as(world.agent_user).get(f"/certificates/{certs.valid.id}/print")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "张东" in html and certs.valid.code in html
    assert f"{world.county.name}政务服务办公室" in html
    assert "<svg" in html and 'class="cert-qr-code"' in html
    assert f"http://localhost/verify/{certs.valid.code}" in html
    assert cn_date(certs.valid.issued_on) in html and cn_date(certs.valid.expires_on) in html
    assert "css/certificate.css" in html
    assert "<img" not in html and "<style" not in html and "style=" not in html
    assert "cert-void" not in html


def test_print_of_a_revoked_certificate_says_so(world, certs, login_as):
    html = (
        login_as(world.admin).get(f"/certificates/{certs.revoked.id}/print").get_data(as_text=True)
    )
    assert 'class="cert-void"' in html and "已撤销" in html


def test_qr_code_encodes_the_public_verification_url(world, certs, login_as):
    import segno

    html = login_as(world.admin).get(f"/certificates/{certs.valid.id}/print").get_data(as_text=True)
    expected = segno.make(
        f"http://localhost/verify/{certs.valid.code}", error="m", micro=False
    ).svg_inline(border=2, omitsize=True, svgclass="cert-qr-code", title="扫码核验证书")
    assert expected.split("<path", 1)[1] in html


# --- public verification ----------------------------------------------------------------


def test_verify_works_logged_out_masks_the_name_and_sets_no_cookie(client, world, certs):
    resp = client.get(f"/verify/{certs.valid.code}")
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    assert "noindex" in resp.headers["X-Robots-Tag"]
    html = resp.get_data(as_text=True)
    assert "张*" in html and "张东" not in html
    assert certs.valid.scheme.name in html and "初级" in html and "有效" in html
    assert cn_date(certs.valid.issued_on) in html and cn_date(certs.valid.expires_on) in html
    agent = world.east_agent
    for secret in (agent.phone, "东一村", "东镇", "退出"):
        assert secret not in html, secret


def test_verify_shows_revocation_date_but_not_the_reason(client, world, certs):
    html = client.get(f"/verify/{certs.revoked.code}").get_data(as_text=True)
    assert "已撤销" in html and cn_date(certs.revoked.revoked_on) in html
    assert "代办时违规收取费用" not in html


def test_verify_shows_expired(client, world, certs):
    html = client.get(f"/verify/{certs.expired.code}").get_data(as_text=True)
    assert "已过期" in html and "证书真实有效" not in html


def test_verify_form_normalises_the_typed_code(client, world, certs):
    assert client.get("/verify").status_code == 200
    code = certs.valid.code
    typed = f"  {code[:2].lower()}-{code[2:6]} {code[6:].lower()} "
    resp = client.get("/verify", query_string={"code": typed})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/verify/{code}")
    assert client.get(f"/verify/{code.lower()}").headers["Location"].endswith(f"/verify/{code}")
    resp = client.get(f"/verify/{code}")
    assert resp.status_code == 200 and "张*" in resp.get_data(as_text=True)
    empty = client.get("/verify", query_string={"code": " - "})
    assert empty.status_code == 400 and "请输入证书编号" in empty.get_data(as_text=True)


@pytest.mark.parametrize("code", ["XCNOSUCHCODE", "XC", "%3Cscript%3E", "A" * 200])
def test_unknown_code_is_a_chinese_404(client, world, certs, code):
    resp = client.get(f"/verify/{code}")
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "证书不存在或编号有误" in html and "<script>" not in html


def test_verify_is_rate_limited_per_client(client, world, certs, app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_MAX_LOOKUPS", 3)
    assert client.get(f"/verify/{certs.valid.code}").status_code == 200
    assert client.get("/verify/XCNOSUCHCODE").status_code == 404
    assert client.get(f"/verify/{certs.expired.code}").status_code == 200
    resp = client.get(f"/verify/{certs.valid.code}")
    assert resp.status_code == 429
    assert "太频繁" in resp.get_data(as_text=True) and int(resp.headers["Retry-After"]) > 0
    # Another address is not affected.
    other = client.get(f"/verify/{certs.valid.code}", environ_overrides={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_verify_default_limit_is_30_lookups(client, world, certs):
    for _ in range(30):
        assert client.get(f"/verify/{certs.valid.code}").status_code == 200
    assert client.get(f"/verify/{certs.valid.code}").status_code == 429
