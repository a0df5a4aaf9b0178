"""Award certificates of a published competition, frozen at publication.

The HTML is rendered once (with the shared certificate stylesheets inlined and a QR code
of the public verification address) and stored on the result; later renames or template
edits never change an issued award. The code has the certificates' format, so the public
``/verify/<code>`` page finds it too.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from academy.certification import display
from academy.certification.documents import _stylesheets, qr_svg, verify_url
from academy.certification.services import new_code
from academy.certification.views import verifiable
from academy.competition.models import Result
from academy.extensions import db
from academy.timefmt import to_county

TEMPLATE = "competition/award_document.html"


def freeze(result: Result) -> None:
    while True:
        code = new_code()
        if not db.session.scalar(sa.select(Result.id).where(Result.certificate_code == code)):
            break
    result.certificate_code = code
    url = verify_url(code)
    entry = result.entry
    template = current_app.jinja_env.get_template(TEMPLATE)
    result.certificate_html = template.render(
        result=result,
        entry=entry,
        competition=entry.competition,
        verify_url=url,
        qr=qr_svg(url),
        cn_date=display.cn_date,
        css=Markup(_stylesheets()),
    )
    db.session.flush()


def by_code(code: str) -> Result | None:
    return db.session.scalar(sa.select(Result).where(Result.certificate_code == code))


@verifiable
def verify_facts(code: str) -> dict | None:
    """What the public verification page shows of an award certificate."""
    result = by_code(code)
    if result is None:
        return None
    entry = result.entry
    return {
        "code": code,
        "holder": display.mask_name(entry.agent.name),
        "competition": entry.competition.title,
        "award": result.award.label if result.award else "",
        "published_on": to_county(result.published_at).date(),
    }
