"""User accounts and roles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from academy.db import Base, LabelledEnum, TimestampMixin, enum_column

if TYPE_CHECKING:
    from academy.regions.models import Township
    from academy.roster.models import Agent


class Role(LabelledEnum):
    AGENT = ("agent", "代办员")
    EXPERT = ("expert", "县级专家")
    TOWNSHIP_HEAD = ("township_head", "镇街负责人")
    ADMIN = ("admin", "县级管理员")


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint(
            "role != 'township_head' OR township_id IS NOT NULL", name="head_has_township"
        ),
        sa.CheckConstraint("role != 'agent' OR agent_id IS NOT NULL", name="agent_has_roster"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), index=True)
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("township.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Bumped on password change/deactivation: invalidates other sessions.
    session_version: Mapped[int] = mapped_column(default=1)

    township: Mapped[Township | None] = relationship()
    agent: Mapped[Agent | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles
