"""One display rule for times: stored naive UTC, shown in Beijing time."""

from datetime import UTC, datetime

from academy.timefmt import local_time, to_county


def test_naive_utc_is_shown_in_beijing_time_across_midnight():
    assert local_time(datetime(2026, 3, 5, 5, 33)) == "2026-03-05 13:33"
    assert local_time(datetime(2026, 3, 5, 20, 0)) == "2026-03-06 04:00"
    assert local_time(datetime(2026, 3, 5, 5, 33), label=True) == "2026-03-05 13:33（北京时间）"
    assert local_time(None) == ""
    assert to_county(datetime(2026, 3, 5, 5, 33, tzinfo=UTC)) == datetime(2026, 3, 5, 13, 33)
