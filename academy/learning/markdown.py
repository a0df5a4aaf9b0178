"""Markdown for module text: raw HTML is never passed through, links are checked,
and the output is sanitised again (defence in depth)."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "a",
    "code",
    "blockquote",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
        "table"
    )


def clean_html(html: str | None) -> Markup:
    """HTML written by someone else (an imported Moodle question), reduced to the tags
    above: no scripts, styles, images, frames or event attributes."""
    if not html:
        return Markup("")
    clean = nh3.clean(
        str(html),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)


def render_markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return _rendered(str(text))


@lru_cache(maxsize=4096)
def _rendered(text: str) -> Markup:
    """The same text always renders the same: an exam page shows fifty question texts that
    every candidate of the exam shares, so each is rendered once per process, not per page
    (a few MB at most per process)."""
    return clean_html(_parser().render(text))
