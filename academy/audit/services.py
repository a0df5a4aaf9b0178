"""Recording audit events."""

from __future__ import annotations

from typing import Any

from academy.audit.models import AuditEvent
from academy.extensions import db


def record(
    actor,
    action: str,
    obj: Any,
    summary: str,
    details: dict | None = None,
    township_id: int | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        township_id=township_id,
        summary=summary[:300],
        details=details or {},
    )
    db.session.add(event)
    return event
