"""The main menu at the top of every signed-in page: which links each role sees, most used
first — on a phone the first few stay in one row and the rest fold into 菜单.

The links (``url_for`` and a translation each: a good part of a small page's cost) are built
once per role, address root and language and kept; which one is "on" is decided per request
from the endpoint.
"""

from __future__ import annotations

from functools import lru_cache

from flask import request, url_for
from flask_babel import get_locale, gettext

# A link: (endpoint, label, when it is on). "On" is a prefix of the request's endpoint
# ("exams." for the whole blueprint), an endpoint ("=main.home"), and optionally an endpoint
# it is not on ("learning.|learning.plans": every learning page but the plans).
_HOME = ("main.home", "首页", "=main.home")
_PASSWORD = ("auth.change_password", "修改密码", "=auth.change_password")
MENUS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "agent": (
        _HOME,
        ("learning.index", "学习", "learning."),
        ("exams.index", "考试", "exams."),
        ("practice.home", "练习", "practice."),
        ("simulations.index", "情景模拟", "simulations."),
        ("certification.index", "我的证书", "certification."),
        ("catalogue.index", "事项目录", "catalogue."),
        _PASSWORD,
    ),
    "expert": (
        _HOME,
        ("learning.index", "课程模块", "learning."),
        ("questions.index", "题库", "questions."),
        ("competition.judging", "技能比武", "competition."),
        ("simulations.index", "情景模拟", "simulations."),
        ("exam_admin.index", "考试管理", "exam_admin."),
        ("catalogue.index", "事项目录", "catalogue."),
        _PASSWORD,
    ),
}
_STAFF_HEAD = (
    _HOME,
    ("analytics.index", "持证覆盖", "analytics."),
    ("roster.index", "代办员花名册", "roster."),
    ("certification.index", "证书", "certification."),
    ("regions.villages", "村社", "regions.village"),
    ("learning.plans", "学习计划", "=learning.plans"),
    ("activity.index", "学习记录", "activity."),
    ("simulations.results", "模拟成绩", "=simulations.results"),
    ("learning.index", "学习", "learning.|learning.plans"),
    ("catalogue.index", "事项目录", "catalogue."),
)
_STAFF_TAIL = (
    ("exam_admin.index", "考试管理", "exam_admin."),
    ("competition.index", "技能比武", "competition."),
)
_AUDIT = ("audit.index", "操作记录", "audit.")
MENUS["township_head"] = (*_STAFF_HEAD, *_STAFF_TAIL, _AUDIT, _PASSWORD)
MENUS["admin"] = (
    *_STAFF_HEAD,
    ("questions.index", "题库", "questions."),
    ("simulations.index", "情景模拟", "simulations.|simulations.results"),
    *_STAFF_TAIL,
    ("regions.townships", "镇街", "regions.township"),
    ("auth.users", "账号", "auth.user"),
    _AUDIT,
    _PASSWORD,
)
IN_ROW = {"agent": 4}  # links kept in the phone's first row (3 for staff)


def _is_on(rule: str, endpoint: str) -> bool:
    if rule.startswith("="):
        return endpoint == rule[1:]
    prefix, _, unless = rule.partition("|")
    return endpoint.startswith(prefix) and endpoint != unless


@lru_cache(maxsize=64)
def _links(role: str, root: str, locale: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (url_for(endpoint), gettext(label), rule)
        for endpoint, label, rule in MENUS.get(role, MENUS["township_head"])
    )


def main_menu(role: str) -> tuple[list[tuple[str, str, bool]], int]:
    """(links as (href, label, on), how many stay in the phone's first row) for this role."""
    endpoint = request.endpoint or ""
    links = _links(role, request.script_root, str(get_locale()))
    return [(href, label, _is_on(rule, endpoint)) for href, label, rule in links], IN_ROW.get(
        role, 3
    )
