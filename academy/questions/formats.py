"""The registry of question file formats: GIFT, Moodle XML and the Excel sheet.

Each format has a name (``--format`` and the import form's value), a label, its suffixes
(the first is the one exports get), a MIME type, ``parse`` (bytes → :class:`Parsed`, or
``ParseError`` with every problem) and ``export`` (questions → bytes, or ``ExportError``).
The import pages, the export, and the ``flask questions`` commands all go through here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from academy.questions import excel, gift, moodlexml
from academy.questions.spec import Question, Skipped


@dataclass
class Parsed:
    questions: list[Question]
    skipped: list[Skipped] = field(default_factory=list)  # left out, with the reason


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    suffixes: tuple[str, ...]
    mimetype: str
    parse: Callable[[bytes], Parsed]
    export: Callable[[Sequence[Question]], bytes]

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    @property
    def choice_label(self) -> str:
        """For the import form: "GIFT（.gift、.txt）"."""
        return f"{self.label}（{'、'.join(self.suffixes)}）"


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}") from None


def guess(filename: str) -> str | None:
    """The format of a file by its suffix (None: not one of ours)."""
    suffix = Path(filename).suffix.lower()
    return next((f.name for f in FORMATS.values() if suffix in f.suffixes), None)


def parse(data: bytes, name: str) -> Parsed:
    """Parse a file of format ``name``; raise ``ParseError`` with every problem."""
    return get(name).parse(data)


def _xml(data: bytes) -> Parsed:
    questions, skipped = moodlexml.parse_skipping(data)
    return Parsed(questions, skipped)


register(
    Format(
        "gift",
        "GIFT",
        (".gift", ".txt"),
        "text/plain; charset=utf-8",
        lambda data: Parsed(gift.parse(data)),
        lambda specs: gift.export(specs).encode("utf-8"),
    )
)
register(
    Format(
        "xml",
        "Moodle XML",
        (".xml",),
        "application/xml; charset=utf-8",
        _xml,
        lambda specs: moodlexml.export(specs).encode("utf-8"),
    )
)
register(
    Format(
        "xlsx",
        "Excel",
        (".xlsx",),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda data: Parsed(excel.parse(data)),
        excel.export,
    )
)
