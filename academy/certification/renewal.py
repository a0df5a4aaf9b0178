"""An agent's renewal path: for each certificate in its renewal window or lapsed, what is
due (how many refresher modules, which ones), by when, and the module to start with.
Same rule as ``services.evaluate_agent`` (``rules.refresher_done``), read side only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from academy.catalogue.models import ServiceItem
from academy.certification import rules, services
from academy.certification.models import Certificate, CertificationScheme
from academy.extensions import db
from academy.learning.models import Module
from academy.roster.models import Agent


@dataclass
class ModuleLink:
    slug: str
    title: str


@dataclass
class Renewal:
    certificate: Certificate
    scheme: CertificationScheme
    lapsed: bool
    due_on: date | None  # last valid day (None once lapsed: renew any time)
    need: rules.RefresherNeed
    modules: list[ModuleLink]  # the refresher modules to take, best first

    @property
    def next_module(self) -> ModuleLink | None:
        return self.modules[0] if self.modules else None

    def days_left(self, on: date) -> int | None:
        return (self.due_on - on).days + 1 if self.due_on else None


def renewals(agent: Agent | None, on: date | None = None) -> list[Renewal]:
    """The agent's certificates that need renewing on ``on``, soonest first."""
    if agent is None:
        return []
    on = on or date.today()
    held = list(
        db.session.scalars(
            sa.select(Certificate)
            .options(joinedload(Certificate.scheme))
            .where(Certificate.agent_id == agent.id, Certificate.revoked_on.is_(None))
        )
    )
    due = []
    for scheme in {c.scheme_id: c.scheme for c in held}.values():
        if not scheme.active:
            continue
        # The very rule evaluate_agent renews by: which certificate, refresher counted since.
        basis = services._renewal_basis([c for c in held if c.scheme_id == scheme.id], scheme, on)
        if basis is None or basis is services._NOT_DUE:
            continue
        cert, since = basis
        due.append((cert, cert.expires_on < on, since))
    if not due:
        return []
    schemes = [cert.scheme for cert, _, _ in due]
    items = services.scheme_items(schemes)
    wanted = set().union(*items.values())
    modules = {
        item_id: (slug, title, freq)
        for item_id, slug, title, freq in db.session.execute(
            sa.select(Module.item_id, Module.slug, Module.title, ServiceItem.frequency)
            .join(ServiceItem, ServiceItem.id == Module.item_id)
            .where(Module.retired.is_(False), Module.item_id.in_(wanted))
        )
    }
    posting = agent.current_posting
    offered = services.offered_items([posting.village_id])[posting.village_id] if posting else set()
    passes = services._check_passes(agent.id)
    out = []
    for cert, lapsed, since in due:
        need = rules.refresher_need(
            items[cert.scheme_id],
            offered,
            services._passed_since(passes, since),
            cert.scheme.refresher_modules,
            modules,
            {i: m[2] for i, m in modules.items()},
        )
        out.append(
            Renewal(
                certificate=cert,
                scheme=cert.scheme,
                lapsed=lapsed,
                due_on=None if lapsed else cert.expires_on,
                need=need,
                modules=[ModuleLink(modules[i][0], modules[i][1]) for i in need.todo],
            )
        )
    out.sort(key=lambda r: (not r.lapsed, r.certificate.expires_on))
    return out
