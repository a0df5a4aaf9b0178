"""Pure helpers for showing certificates: masked names, typed-in codes, Chinese dates.

No database, no request: unit-tested in tests/unit/test_certification_display.py.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from academy.certification.models import CertSource
from academy.certification.rules import CertStatus

MASK = "*"
# Kept as they are when masking: they separate the parts of a name (阿依古丽·买买提, Li Na).
_SEPARATORS = frozenset("·•・.- ")
# What people type between the groups of a code: spaces, dashes, underscores, dots.
_CODE_NOISE = re.compile(r"[\s\-_.·–—－]+")
_CODE_SHAPE = re.compile(r"[A-Z0-9]{4,24}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def mask_name(name: str | None) -> str:
    """A name with all but its first and last character hidden, for public pages.

    李晓芬 → 李*芬, 王芳 → 王*, 欧阳晓明 → 欧**明, 李 → *; separators (·, spaces between
    the parts of a Latin name) stay visible. Spaces inside a Chinese name ("王  芳", as
    typed to line up two-character names) are dropped, so they cannot unmask it.
    """
    text = " ".join((name or "").split())
    if _CJK.search(text):
        text = text.replace(" ", "")
    letters = [i for i, c in enumerate(text) if c not in _SEPARATORS]
    if len(letters) <= 1:
        return "".join(c if c in _SEPARATORS else MASK for c in text)
    keep = {letters[0]} if len(letters) == 2 else {letters[0], letters[-1]}
    return "".join(c if i in keep or c in _SEPARATORS else MASK for i, c in enumerate(text))


def normalise_code(raw: str | None) -> str:
    """A certificate code as typed (lower case, spaces, dashes, full-width) → canonical form."""
    text = unicodedata.normalize("NFKC", raw or "")
    return _CODE_NOISE.sub("", text).upper()


def looks_like_code(code: str) -> bool:
    """Whether a normalised code could be a certificate code at all (letters and digits)."""
    return bool(_CODE_SHAPE.fullmatch(code))


def cn_date(day: date | None) -> str:
    """2026-03-01 → 2026年3月1日 (as printed on Chinese certificates)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def scheme_title(name: str, level_label: str) -> str:
    """A scheme's name with its level, unless the name already says it: 《…（初级）》."""
    return name if level_label in name else f"{name}（{level_label}）"


def issuing_body(county_name: str | None) -> str:
    return f"{county_name or ''}政务服务办公室"


STATUS_TAGS = {
    CertStatus.VALID: "tag",
    CertStatus.EXPIRING: "tag tag-amber",
    CertStatus.EXPIRED: "tag tag-gray",
    CertStatus.REVOKED: "tag tag-red",
    CertStatus.PENDING: "tag tag-gray",
}


def status_class(status: CertStatus) -> str:
    return STATUS_TAGS.get(status, "tag tag-gray")


# How the printed certificate says it was earned: "兹证明 张三 同志<phrase>，取得……".
SOURCE_PHRASES = {
    CertSource.EARNED: "经学习考核合格",
    CertSource.RENEWED: "经复训考核合格、予以续期",
    CertSource.AWARD: "经技能比武评定",
    CertSource.MANUAL: "经审核认定",
}


def source_phrase(source: CertSource) -> str:
    return SOURCE_PHRASES.get(source, "经审核认定")


# A printout of a certificate that is no longer in force carries a stamp saying so.
VOID_STAMPS = {CertStatus.REVOKED: "已撤销", CertStatus.EXPIRED: "已过期"}


def void_stamp(status: CertStatus) -> str | None:
    return VOID_STAMPS.get(status)


# Characters a file name may not hold on Windows, macOS or in a ZIP, and control characters.
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
MAX_NAME_CHARS = 40


def document_filename(code: str, holder: str | None, ext: str) -> str:
    """``<code>_<holder>.<ext>`` for a downloaded certificate: 张东 → XCABCD_张东.pdf.

    The name keeps its Chinese characters (ZIP entries and downloads carry UTF-8 names);
    path separators, characters Windows refuses and leading/trailing dots are dropped,
    runs of spaces become one, and a long name is cut.
    """
    name = _UNSAFE_IN_NAME.sub("", unicodedata.normalize("NFC", holder or ""))
    name = " ".join(name.split()).strip(" .")[:MAX_NAME_CHARS].strip(" .")
    return f"{code}_{name or '持证人'}.{ext}"
