"""Audit trail of administrative changes: who did what to which object, when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from academy.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None]
    # Set when the object belongs to a township, so township heads see their own events.
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    summary: Mapped[str] = mapped_column(sa.String(300))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
