"""Helpers for simulation tests: load shipped or sample cases the way content sync does."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from academy.content.loader import ContentDoc
from academy.extensions import db
from academy.simulations import services

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "simulations" / "pension-death-one-visit.yaml"


def sample_case(item_slug: str, **changes) -> dict:
    """The shipped pension case, pointed at ``item_slug`` (the test world's item)."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["items"] = [item_slug]
    data.update(changes)
    return data


def load_case(data: dict):
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    services.sync_cases([ContentDoc(f"simulations/{data['slug']}.yaml", data, text)])
    db.session.commit()
    return services.case_by_slug(data["slug"])
