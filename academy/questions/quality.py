"""Item-quality lint: can a test-wise candidate find the key without knowing the job?

Pure: parsed content (bank files, the ``check:`` of course modules) or one ``spec.Question``
in, figures and problems out; no database, no request. The rules and thresholds are written
down in question_banks/README.md (「出题规则」 and 「题目质量检查」), after the NBME item-writing
guide's rules on test-wise cues.

The cues (the same definitions as the session's measuring script, so figures agree):

- **longest**: in a single-answer choice question with ≥ 3 options, the key is the one
  option that is strictly longer than every other (length of the stripped text);
- **shortest**: the key is the one strictly shortest option;
- **echo**: the key is the one option sharing the most distinct character bigrams with the
  stem (whitespace removed);
- **absolutes**: the key is the only option *without* an absolute word (一律、所有、绝对 …),
  i.e. striking every absolute leaves the key;
- **multi k-longest**: in a multiple-answer question with k keys, the k longest options
  (a stable sort, earlier option first on a tie) are exactly the keys;
- **true share**: of true/false questions, the share keyed "true".

**Chance** is the mean of 1/n over the single-answer questions (n options): what blind
guessing finds. A cue far above chance is a giveaway. **Strike the extremes** (reported
only): strike the uniquely longest and shortest options and guess among the rest — far above
chance when a set was overcorrected so that the key is never the longest nor the shortest.

**Near-duplicate stems**: two stems whose normalised texts (NFKC, lower case, without
whitespace, punctuation and Markdown marks) have a difflib ratio 2·M/T ≥ ``NEAR_DUPLICATE``
(0.85; M = characters in matching blocks, T = both lengths) — the same question asked twice,
perhaps with a word changed ("哪项" / "哪一项"). Exact duplicates score 1. Two stems about
different items ("补领身份证" / "补领社保卡" in an otherwise equal sentence) stay below it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from difflib import SequenceMatcher
from typing import Any

from academy.content.problems import Problem

ABSOLUTES = (
    "一律",
    "所有",
    "绝对",
    "从不",
    "从来不",
    "肯定",
    "必须",
    "任何",
    "只要",
    "一定",
    "总是",
    "永远",
    "完全",
    "全部",
    "无论",
    "一切",
    "都不",
    "都可以",
)
NEAR_DUPLICATE = 0.85


@dataclass(frozen=True)
class Thresholds:
    """Above these a shipped set of questions is an error of ``flask content check``.

    Totals (all banks together; all module checks together) apply from ``min_single``
    single-answer questions (``min_multi``, ``min_tf`` for the others): on fewer, one
    question moves the share by more than the margin. A single bank (or module check) with
    ≥ ``file_min_single`` single-answer questions: longest ≤ ``file_longest``.
    """

    longest: float = 0.35
    shortest: float = 0.35
    echo: float = 0.45
    absolutes: float = 0.35
    multi_longest: float = 0.35
    tf_true_low: float = 0.40
    tf_true_high: float = 0.60
    min_single: int = 20
    min_multi: int = 10
    min_tf: int = 10
    file_longest: float = 0.50
    file_min_single: int = 4


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Item:
    """One question as the lint sees it."""

    where: str  # field path in its file, e.g. questions[3](q04) or check[2]
    kind: str  # single | multi | truefalse | other
    stem: str
    options: tuple[str, ...] = ()
    keys: tuple[bool, ...] = ()
    truth: bool | None = None
    # What makes the question besides its stem, for the duplicate check of questions whose
    # stem is only an instruction ("请把步骤排成正确的顺序"): the steps, the pairs.
    body: str = ""

    @property
    def compared(self) -> str:
        return f"{self.stem} {self.body}".strip()


# --- reading questions -------------------------------------------------------------------


def bank_items(data: Mapping[str, Any]) -> list[Item]:
    """The questions of a (valid) bank file."""
    out = []
    for i, q in enumerate(data.get("questions") or []):
        if not isinstance(q, Mapping):
            continue
        where = f"questions[{i}]" + (f"({q['id']})" if isinstance(q.get("id"), str) else "")
        stem = str(q.get("text", "") or "")
        kind = q.get("type")
        if kind == "multichoice":
            answers = [a for a in q.get("answers") or [] if isinstance(a, Mapping)]
            opts = tuple(str(a.get("text", "")) for a in answers)
            fractions = [float(a.get("fraction", 0) or 0) for a in answers]
            if q.get("single", True) is not False:
                out.append(Item(where, "single", stem, opts, tuple(f >= 100 for f in fractions)))
            else:
                out.append(Item(where, "multi", stem, opts, tuple(f > 0 for f in fractions)))
        elif kind == "truefalse":
            out.append(Item(where, "truefalse", stem, truth=bool(q.get("answer"))))
        elif kind == "description":
            continue  # text shown in an exam, not a question
        else:
            body = q.get("order") if kind == "ordering" else q.get("pairs")
            out.append(Item(where, "other", stem, body=_flatten(body)))
    return out


def _flatten(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    return "" if value is None else str(value)


def module_items(data: Mapping[str, Any]) -> list[Item]:
    """The questions of a (valid) course module's ``check:``."""
    out = []
    for i, q in enumerate(data.get("check") or []):
        if not isinstance(q, Mapping):
            continue
        where, stem, kind = f"check[{i}]", str(q.get("text", "") or ""), q.get("type")
        if kind in ("single", "multiple"):
            opts = [o for o in q.get("options") or [] if isinstance(o, Mapping)]
            out.append(
                Item(
                    where,
                    "single" if kind == "single" else "multi",
                    stem,
                    tuple(str(o.get("text", "")) for o in opts),
                    tuple(bool(o.get("correct")) for o in opts),
                )
            )
        elif kind == "truefalse":
            out.append(Item(where, "truefalse", stem, truth=bool(q.get("answer"))))
    return out


def spec_item(spec: Any, where: str = "") -> Item:
    """A ``spec.Question`` (the web editor's question being written)."""
    if spec.type == "multichoice":
        opts = tuple(a.text for a in spec.answers)
        if spec.single:
            return Item(
                where, "single", spec.text, opts, tuple(a.fraction >= 1 for a in spec.answers)
            )
        return Item(where, "multi", spec.text, opts, tuple(a.fraction > 0 for a in spec.answers))
    if spec.type == "truefalse":
        truth = next((a.text == "true" for a in spec.answers if a.fraction >= 1), None)
        return Item(where, "truefalse", spec.text, truth=truth)
    return Item(where, "other", spec.text, body=_flatten(spec.order or spec.pairs))


# --- cues ---------------------------------------------------------------------------------


def bigrams(text: str) -> set[str]:
    s = "".join(ch for ch in text if not ch.isspace())
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _unique_index(values: Sequence, best) -> int | None:
    top = best(values)
    found = [i for i, v in enumerate(values) if v == top]
    return found[0] if len(found) == 1 else None


def has_absolute(text: str) -> bool:
    return any(word in text for word in ABSOLUTES)


def _single_key(item: Item) -> int | None:
    if item.kind != "single" or len(item.options) < 3 or True not in item.keys:
        return None
    return item.keys.index(True)


def item_cues(item: Item) -> tuple[str, ...]:
    """The names of the cues that find this question's key: longest, shortest, echo,
    absolutes (single answer), multi_longest (multiple answer)."""
    found: list[str] = []
    key = _single_key(item)
    if key is not None:
        lengths = [len(o.strip()) for o in item.options]
        if _unique_index(lengths, max) == key:
            found.append("longest")
        if _unique_index(lengths, min) == key:
            found.append("shortest")
        stem = bigrams(item.stem)
        if _unique_index([len(stem & bigrams(o)) for o in item.options], max) == key:
            found.append("echo")
        if _unique_index([not has_absolute(o) for o in item.options], max) == key and any(
            has_absolute(o) for o in item.options
        ):
            found.append("absolutes")
    elif item.kind == "multi" and sum(item.keys) >= 1:
        keys = {i for i, k in enumerate(item.keys) if k}
        order = sorted(range(len(item.options)), key=lambda i: -len(item.options[i].strip()))
        if set(order[: len(keys)]) == keys:
            found.append("multi_longest")
    return tuple(found)


def middle_guess(item: Item) -> float:
    """The chance that a candidate who strikes the uniquely longest and the uniquely shortest
    option, then guesses among the rest, finds the key: the cue of an *overcorrected* set
    (keys made never the longest nor the shortest). Equals chance when the key's length rank
    is spread evenly. Reported, not judged (question_banks/README.md)."""
    key = _single_key(item)
    if key is None:
        return 0.0
    lengths = [len(o.strip()) for o in item.options]
    struck = {_unique_index(lengths, max), _unique_index(lengths, min)} - {None}
    rest = [i for i in range(len(lengths)) if i not in struck]
    return 1 / len(rest) if key in rest else 0.0


CUE_WARNINGS = {
    "longest": "正确选项是唯一最长的一项：应试技巧“选最长的”就能猜中。请让各选项长短相近。",
    "shortest": "正确选项是唯一最短的一项：“选最短的”就能猜中。请让各选项长短相近。",
    "echo": (
        "正确选项与题干重复的字词最多：照着题干找字就能猜中。请换个说法，或让干扰项也用题干的词。"
    ),
    "absolutes": "只有干扰项带“一律、所有、必须、任何……”这类绝对词：排除它们就剩下正确答案。",
    "multi_longest": "最长的几项恰好都是正确选项：“选长的”就能全对。请调整选项长短。",
}


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    """How often each cue finds the key, over a set of questions."""

    single: int = 0
    chance: float = 0.0  # sum of 1/n
    middle: float = 0.0  # sum of the strike-the-extremes guess's chances (reported only)
    longest: int = 0
    shortest: int = 0
    echo: int = 0
    absolutes: int = 0
    multi: int = 0
    multi_longest: int = 0
    tf: int = 0
    tf_true: int = 0

    def add(self, item: Item) -> None:
        cues = item_cues(item)
        if _single_key(item) is not None:
            self.single += 1
            self.chance += 1 / len(item.options)
            self.middle += middle_guess(item)
        elif item.kind == "multi":
            self.multi += 1
        elif item.kind == "truefalse" and item.truth is not None:
            self.tf += 1
            self.tf_true += item.truth
        for cue in cues:
            setattr(self, cue, getattr(self, cue) + 1)

    def __iadd__(self, other: Figures) -> Figures:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def share(self, name: str) -> float | None:
        base = {"multi_longest": self.multi, "tf_true": self.tf}.get(name, self.single)
        if not base:
            return None
        return getattr(self, name) / base

    def line(self) -> str:
        def pct(name: str) -> str:
            value = self.share(name)
            return "—" if value is None else f"{100 * value:.1f}%"

        return (
            f"单选 {self.single} 题（随机猜中 {pct('chance')}）：最长 {pct('longest')}，"
            f"最短 {pct('shortest')}，题干重复 {pct('echo')}，绝对词 {pct('absolutes')}，"
            f"去掉最长最短再猜 {pct('middle')}；"
            f"多选 {self.multi} 题：最长几项 {pct('multi_longest')}；"
            f"判断 {self.tf} 题：答案为“对” {pct('tf_true')}"
        )


def measure(items: Iterable[Item]) -> Figures:
    figures = Figures()
    for item in items:
        figures.add(item)
    return figures


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def total_reasons(figures: Figures, t: Thresholds = THRESHOLDS) -> list[str]:
    """Why a whole set (all banks, or all module checks) is beyond the thresholds."""
    reasons = []
    if figures.single >= t.min_single:
        for name, label, limit in (
            ("longest", "正确选项是唯一最长项", t.longest),
            ("shortest", "正确选项是唯一最短项", t.shortest),
            ("echo", "正确选项与题干重复最多", t.echo),
            ("absolutes", "只有正确选项不带绝对词", t.absolutes),
        ):
            share = figures.share(name)
            if share is not None and share > limit:
                hits = getattr(figures, name)
                reasons.append(
                    f"{label}的单选题占 {_pct(share)}（{hits}/{figures.single}），"
                    f"上限 {_pct(limit)}"
                )
    if figures.multi >= t.min_multi:
        share = figures.share("multi_longest")
        if share is not None and share > t.multi_longest:
            reasons.append(
                f"最长的几项恰好是正确选项的多选题占 {_pct(share)}"
                f"（{figures.multi_longest}/{figures.multi}），上限 {_pct(t.multi_longest)}"
            )
    if figures.tf >= t.min_tf:
        share = figures.share("tf_true")
        if share is not None and not t.tf_true_low <= share <= t.tf_true_high:
            reasons.append(
                f"判断题答案为“对”的占 {_pct(share)}（{figures.tf_true}/{figures.tf}），"
                f"应在 {_pct(t.tf_true_low)}–{_pct(t.tf_true_high)} 之间"
            )
    return reasons


def file_reasons(figures: Figures, t: Thresholds = THRESHOLDS) -> list[str]:
    """Why one bank (or one module check) is beyond the per-file threshold."""
    share = figures.share("longest")
    if figures.single >= t.file_min_single and share is not None and share > t.file_longest:
        return [
            f"正确选项是唯一最长项的单选题占 {_pct(share)}（{figures.longest}/{figures.single}），"
            f"单个题库上限 {_pct(t.file_longest)}"
        ]
    return []


# --- near-duplicate stems -----------------------------------------------------------------

_MARKS = set("*_`#>[]()|~")


def normalise_stem(text: str) -> str:
    """NFKC, lower case, without whitespace, punctuation, symbols or Markdown marks."""
    out = []
    for ch in unicodedata.normalize("NFKC", text).lower():
        if ch.isspace() or ch in _MARKS or unicodedata.category(ch)[0] in "PS":
            continue
        out.append(ch)
    return "".join(out)


def bigram_set(text: str) -> frozenset[str]:
    """Character bigrams of the normalised stem (a one-character stem is its own bigram)."""
    s = normalise_stem(text)
    if len(s) < 2:
        return frozenset([s]) if s else frozenset()
    return frozenset(s[i : i + 2] for i in range(len(s) - 1))


def similarity(a: str, b: str) -> float:
    """difflib's ratio 2·M/T of two normalised stems (M: characters in matching blocks)."""
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _could_match(a: str, b: str, ga: frozenset, gb: frozenset, threshold: float) -> bool:
    """Cheap necessary conditions of ``similarity ≥ threshold`` (t): the ratio is at most
    2·min/(|a|+|b|); and with M ≥ t·T/2 matched characters in k blocks, k − 1 ≤ (1 − t)·T
    (blocks are separated by unmatched characters), so the strings share at least
    M − k ≥ (1.5t − 1)·T − 1 bigrams."""
    if 2 * min(len(a), len(b)) < threshold * (len(a) + len(b)):
        return False
    return 2 * len(ga & gb) >= (3 * threshold - 2) * (len(ga) + len(gb)) - 2


@dataclass(frozen=True)
class Stem:
    path: str  # file
    where: str  # field path of the question
    text: str


def near_duplicates(
    stems: Sequence[Stem], threshold: float = NEAR_DUPLICATE
) -> list[tuple[Stem, Stem, float]]:
    """Pairs of stems whose normalised texts have difflib ratio ≥ ``threshold`` (the earlier
    stem first). Stems are sorted by length, so each is compared only with those of close
    length, and only pairs sharing enough bigrams reach difflib."""
    norm = [normalise_stem(s.text) for s in stems]
    grams = [bigram_set(s.text) for s in stems]
    order = sorted((i for i in range(len(stems)) if norm[i]), key=lambda i: len(norm[i]))
    found = []
    for pos, i in enumerate(order):
        for j in order[pos + 1 :]:
            if 2 * len(norm[i]) < threshold * (len(norm[i]) + len(norm[j])):
                break
            if not _could_match(norm[i], norm[j], grams[i], grams[j], threshold):
                continue
            score = similarity(norm[i], norm[j])
            if score >= threshold:
                a, b = sorted((i, j))
                found.append((stems[a], stems[b], score))
    found.sort(key=lambda f: (f[0].path, f[0].where, f[1].path, f[1].where))
    return found


def similar_stems(
    text: str, candidates: Iterable[tuple[Any, str]], threshold: float = NEAR_DUPLICATE
) -> list[tuple[Any, float]]:
    """Candidates (key, stem) whose stem is a near-duplicate of ``text``, most similar first."""
    mine, my_grams = normalise_stem(text), bigram_set(text)
    if not mine:
        return []
    out = []
    for key, other in candidates:
        norm = normalise_stem(other or "")
        if norm and _could_match(mine, norm, my_grams, bigram_set(norm), threshold):
            score = similarity(mine, norm)
            if score >= threshold:
                out.append((key, score))
    return sorted(out, key=lambda x: -x[1])


# --- the whole content tree ---------------------------------------------------------------

GROUPS = {"question_banks": "题库合计", "courses": "模块小测合计"}


@dataclass
class QualityReport:
    per_file: dict[str, Figures] = field(default_factory=dict)
    totals: dict[str, Figures] = field(default_factory=dict)  # folder -> figures
    problems: list[Problem] = field(default_factory=list)
    duplicates: list[tuple[Stem, Stem, float]] = field(default_factory=list)

    @property
    def overall(self) -> Figures:
        total = Figures()
        for figures in self.totals.values():
            total += figures
        return total

    def lines(self, per_file: bool = False) -> list[str]:
        out = []
        if per_file:
            out += [f"{path}: {fig.line()}" for path, fig in sorted(self.per_file.items())]
        out += [f"{GROUPS[k]}: {fig.line()}" for k, fig in self.totals.items()]
        out.append(f"全部: {self.overall.line()}")
        out.append(f"重复或几乎相同的题干：{len(self.duplicates)} 对")
        return out


def lint_content(
    documents: Mapping[str, Iterable[Any]], t: Thresholds = THRESHOLDS
) -> QualityReport:
    """``documents``: folder → documents with ``.path`` and ``.data`` (the content loader's
    valid documents). Banks (question_banks) and module checks (courses) are measured per file
    and per folder; stems are compared across everything."""
    report = QualityReport()
    stems: list[Stem] = []
    for folder, reader in (("question_banks", bank_items), ("courses", module_items)):
        total = Figures()
        for doc in documents.get(folder, []):
            items = reader(doc.data)
            figures = measure(items)
            report.per_file[doc.path] = figures
            total += figures
            for reason in file_reasons(figures, t):
                report.problems.append(Problem(doc.path, "(题目质量)", reason))
            stems += [Stem(doc.path, item.where, item.compared) for item in items if item.stem]
        report.totals[folder] = total
        for reason in total_reasons(total, t):
            report.problems.append(Problem(f"{folder}/", f"(题目质量·{GROUPS[folder]})", reason))
    report.duplicates = near_duplicates(stems)
    for a, b, score in report.duplicates:
        what = "相同" if score >= 1 else f"几乎相同（相似度 {score:.2f}）"
        report.problems.append(
            Problem(b.path, f"{b.where}.text", f"题干与 {a.path} {a.where} {what}")
        )
    return report


def item_warnings(item: Item) -> list[str]:
    """The editor's warnings for one question being written."""
    return [CUE_WARNINGS[c] for c in item_cues(item)]
