"""The one display rule for times: every stored datetime is naive UTC; everything shown or
exported is in the county's time zone, Beijing time (UTC+8, no daylight saving), labelled
where a reader could take it for another clock. Pure; registered as the Jinja filter
``local_time`` (``beijing`` is the same filter under its older name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

COUNTY_TZ = timezone(timedelta(hours=8), "北京时间")
LABEL = "北京时间"


def to_county(moment: datetime) -> datetime:
    """A stored time (naive UTC, or aware) as naive Beijing wall-clock time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COUNTY_TZ).replace(tzinfo=None)


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", label: bool = False) -> str:
    """``moment`` shown in Beijing time; "" for None; ``label`` adds 「（北京时间）」."""
    if moment is None:
        return ""
    text = to_county(moment).strftime(fmt)
    return f"{text}（{LABEL}）" if label else text
