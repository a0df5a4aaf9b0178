"""Load validated content into the database: upsert by slug, never delete."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from academy.catalogue.models import ServiceItem
from academy.content.loader import ContentBundle
from academy.content.problems import ContentInvalid
from academy.extensions import db


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired or self.restored)

    def lines(self) -> list[str]:
        if not self.changed:
            return [f"事项目录：{self.unchanged} 项，均无变化。"]
        out = [
            f"事项目录：新增 {len(self.created)} 项，更新 {len(self.updated)} 项，"
            f"停用 {len(self.retired)} 项，恢复 {len(self.restored)} 项，未变 {self.unchanged} 项。"
        ]
        for label, slugs in (
            ("新增", self.created),
            ("更新", self.updated),
            ("停用", self.retired),
            ("恢复", self.restored),
        ):
            if slugs:
                out.append(f"  {label}：{', '.join(slugs)}")
        return out


def sync_content(bundle: ContentBundle) -> SyncReport:
    """Apply a bundle to the database (flush only; the caller commits)."""
    if bundle.problems:
        raise ContentInvalid(bundle.problems)
    report = SyncReport()
    existing = {i.slug: i for i in db.session.scalars(sa.select(ServiceItem))}
    wanted = set()
    for spec in bundle.items:
        wanted.add(spec.slug)
        values = spec.values()
        item = existing.get(spec.slug)
        if item is None:
            db.session.add(ServiceItem(**values))
            report.created.append(spec.slug)
            continue
        changed = False
        for key, value in values.items():
            if getattr(item, key) != value:
                setattr(item, key, value)
                changed = True
        if item.retired:
            item.retired = False
            report.restored.append(spec.slug)
        elif changed:
            report.updated.append(spec.slug)
        else:
            report.unchanged += 1
    for slug, item in existing.items():
        if slug not in wanted and not item.retired:
            item.retired = True  # kept for history; hidden from new offerings
            report.retired.append(slug)
    db.session.flush()
    return report
