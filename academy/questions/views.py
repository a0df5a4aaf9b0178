"""Question bank pages for county experts and admins: list, detail, editor, versions,
banks, retire/restore, copy, import (upload → check → preview → confirm) and export."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import joinedload

from academy import conflicts
from academy.audit.models import AuditEvent
from academy.auth.models import User
from academy.auth.policy import Permission, requires
from academy.catalogue.models import ItemCategory, ServiceItem
from academy.errors_domain import DomainError
from academy.extensions import db
from academy.forms import service_call
from academy.pagination import paginate
from academy.questions import display, excel, formats, quality, queries, services, types
from academy.questions.diff import diff_versions
from academy.questions.excel import FORMAT_LABELS
from academy.questions.forms import (
    BankForm,
    ConfirmForm,
    CopyForm,
    ImportForm,
    QuestionForm,
    ReasonForm,
    build_spec,
    form_data,
    prepare_rows,
    question_form,
)
from academy.questions.interchange import number_text, percent_text
from academy.questions.models import BankSource, Dimension, Question, QuestionBank, QuestionVersion
from academy.questions.spec import DIMENSIONS, ExportError, ParseError
from academy.uploads import UploadFlow, UploadRefused
from academy.xlsx import xlsx_download

bp = Blueprint("questions", __name__, url_prefix="/questions")

PER_PAGE = 30
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_EXPORT = 5000
PREVIEW_ROWS = 300
MAX_SHOWN_PROBLEMS = 500
SESSION_KEY = "question_import"
FLOW = UploadFlow(
    SESSION_KEY,
    what="题目文件",
    max_bytes=MAX_UPLOAD_BYTES,
    too_big=(
        f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，无法上传；请把题目拆成几个文件分别导入。"
    ),
    choose="请选择要上传的题目文件。",
    suffix_of=lambda pending: "." + str(pending.get("fmt")),
    slack=64 * 1024,  # the form's other fields
)


@bp.app_template_global()
def question_type_label(qtype: str) -> str:
    return types.label(qtype)


@bp.app_template_global()
def question_candidate_label(qtype: str, data: dict) -> str:
    """The type as a candidate reads it in an exam (选择题（多选）, 阅读材料 …)."""
    kind = types.QUESTION_TYPES.get(qtype)
    return kind.candidate_text(data) if kind else qtype


@bp.app_template_global()
def question_type_template(qtype: str) -> str:
    """The template of a type's macros (answer, candidate, answers, editor)."""
    return types.get_type(qtype).template()


@bp.app_template_global()
def question_type_macros(qtype: str):
    """The type's macros as a module made once per template (``{% import %}`` inside a macro
    makes a new module at every call: fifty times on an exam page). The macros see the
    environment's globals (``_``, ``url_for``), not a page's variables — they take theirs as
    arguments."""
    return current_app.jinja_env.get_template(question_type_template(qtype)).module


@bp.app_template_filter("pct")
def _pct(fraction: float) -> str:
    return f"{percent_text(float(fraction))}%"


@bp.app_template_filter("excerpt")
def _excerpt(text: str | None, length: int = 60) -> str:
    plain = " ".join(re.sub(r"<[^>]+>|[*_`#>]", " ", text or "").split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"


@bp.app_template_filter("number")
def _number(value: float) -> str:
    return number_text(float(value))


def _question_or_404(question_id: int) -> Question:
    question = db.session.scalar(
        sa.select(Question)
        .options(joinedload(Question.bank), joinedload(Question.item))
        .where(Question.id == question_id)
    )
    if question is None:
        abort(404)
    return question


def _bank_or_404(bank_id: int) -> QuestionBank:
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None:
        abort(404)
    return bank


def _bank_choices(placeholder: str | None = None) -> list[tuple[str, str]]:
    choices = [(str(b.id), f"{b.title}（{b.source.label}）") for b in queries.editable_banks()]
    return ([("", placeholder)] if placeholder else []) + choices


def _item_select(field, placeholder: str) -> None:
    field.choices = [("", placeholder), *queries.item_choices()]


def _item_slugs() -> dict[str, str]:
    rows = db.session.execute(sa.select(ServiceItem.id, ServiceItem.slug))
    return {str(item_id): slug for item_id, slug in rows}


def _item_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(ServiceItem.slug, ServiceItem.name)).all())


# --- list, detail, versions -----------------------------------------------------------


@bp.get("/")
@requires(Permission.AUTHOR_QUESTIONS)
def index():
    f = queries.QuestionFilter.from_args(request.args)
    page = paginate(queries.question_rows(f), per_page=PER_PAGE, rows=True)
    counts = queries.type_counts(f)
    bank = db.session.get(QuestionBank, f.bank_id) if f.bank_id else None
    items = db.session.execute(
        sa.select(ServiceItem.id, ServiceItem.name, ServiceItem.category)
        .where(ServiceItem.retired.is_(False))
        .order_by(ServiceItem.category, ServiceItem.name)
    ).all()
    banks = db.session.execute(
        sa.select(QuestionBank.id, QuestionBank.title).order_by(QuestionBank.title)
    ).all()
    return render_template(
        "questions/index.html",
        page=page,
        f=f,
        counts=counts,
        total=sum(counts.values()),
        bank=bank,
        banks=banks,
        items=items,
        categories=list(ItemCategory),
        dimensions=list(Dimension),
        types=types.names(),
        statuses=queries.STATUSES,
        read_only=services.read_only_message(bank) if bank and not bank.editable else None,
    )


def _preview_context(spec, seed: str) -> dict:
    item_name = _item_names().get(spec.item or "") if spec.item else None
    return {
        "spec": spec,
        "tags_text": display.tags_text(item_name, spec.dimension, spec.difficulty),
        "type_label": display.type_label(spec),
        "text_html": display.render_text(spec.text, spec.text_format),
        "general_html": display.render_text(spec.general_feedback, spec.text_format),
        "format_label": FORMAT_LABELS.get(spec.text_format, spec.text_format),
        "dimensions": DIMENSIONS,
    } | types.get_type(spec.type).preview(spec, seed)


@bp.get("/<id:question_id>")
@requires(Permission.AUTHOR_QUESTIONS)
def detail(question_id: int):
    question = _question_or_404(question_id)
    spec = services.spec_of(question)
    bank = question.bank
    copy_form = CopyForm(formdata=None)
    copy_form.bank.choices = _bank_choices()
    return render_template(
        "questions/detail.html",
        question=question,
        bank=bank,
        reason_form=ReasonForm(formdata=None),
        copy_form=copy_form,
        read_only=None if bank.editable else services.read_only_message(bank),
        preview=_preview_context(spec, f"{question.id}:{question.current_version}"),
    )


@bp.get("/<id:question_id>/versions")
@requires(Permission.AUTHOR_QUESTIONS)
def versions(question_id: int):
    question = _question_or_404(question_id)
    rows = db.session.execute(
        sa.select(QuestionVersion, User.display_name)
        .outerjoin(User, User.id == QuestionVersion.author_id)
        .where(QuestionVersion.question_id == question.id)
        .order_by(QuestionVersion.number)
    ).all()
    history = []
    previous = None
    for version, author in rows:
        history.append((version, author, diff_versions(previous, version.data, question.qtype)))
        previous = version.data
    history.reverse()
    events = db.session.execute(
        sa.select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == "question",
            AuditEvent.object_id == question.id,
            AuditEvent.action.in_(("question.tagged", "question.retired", "question.restored")),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(100)
    ).all()
    return render_template(
        "questions/versions.html", question=question, history=history, events=events
    )


# --- banks ---------------------------------------------------------------------------


@bp.get("/banks/")
@requires(Permission.AUTHOR_QUESTIONS)
def banks():
    page = paginate(queries.bank_statement(), per_page=60, rows=True)
    return render_template("questions/banks.html", page=page, content_file=services.content_file)


@bp.route("/banks/new", methods=["GET", "POST"])
@requires(Permission.AUTHOR_QUESTIONS)
def new_bank():
    form = BankForm()
    _item_select(form.item, "— 不限 —")
    if form.validate_on_submit():
        item = db.session.get(ServiceItem, int(form.item.data)) if form.item.data else None
        ok, bank = service_call(
            form, services.create_bank, current_user, form.title.data, item, form.category.data
        )
        if ok:
            flash(f"已新建题库《{bank.title}》（标识 {bank.slug}）。", "success")
            return redirect(url_for("questions.index", bank=bank.id))
    status = 400 if form.errors else 200
    return render_template("questions/bank_form.html", form=form), status


# --- the editor ----------------------------------------------------------------------


def _editor(form: QuestionForm, qtype: str, question: Question | None):
    """Shared by create and edit: preview, more rows, save. Returns a response or None
    (render the form again with ``form.problems``)."""
    action = request.form.get("action", "save")
    prepare_rows(form, qtype, more=action == "more")
    form.problems = {}
    form.preview = None
    form.quality = []
    form.failed = False
    if request.method != "POST":
        return None
    if not form.validate_on_submit():
        return None
    if action == "more":
        return None
    spec, problems = build_spec(form, qtype, _item_slugs())
    problems += services_problems(spec)
    for field, reason in problems:
        form.problems.setdefault(field, []).append(reason)
    if problems:
        return None
    form.quality = quality_warnings(spec, question)
    if action == "preview":
        form.preview = _preview_context(spec, "preview")
        return None
    for warning in form.quality:
        flash(f"题目质量提示：{warning}", "warning")
    if question is None:
        bank = _target_bank(form.bank.data)
        if bank is None:
            form.problems["bank"] = ["请选择网页创建或文件导入的题库"]
            return None
        ok, created = service_call(form, services.create_question, current_user, bank, spec)
        if not ok:
            form.failed = True
            return None
        flash(f"已新建题目“{created.name}”。", "success")
        return redirect(url_for("questions.detail", question_id=created.id))
    form.conflict = conflicts.check(question, "这道题", diff=lambda: _their_changes(question))
    if form.conflict:
        return None
    ok, version = service_call(
        form, services.revise_question, current_user, question, spec, form.note.data
    )
    if ok:
        ok, retagged = service_call(form, services.set_tags, current_user, question, _tags(form))
    if not ok:
        form.failed = True  # answered with 422: whatever was flushed is rolled back
        return None
    if version is not None:
        flash(f"已保存为第 {version.number} 版。", "success")
    else:
        flash("题目内容没有变化，未生成新版本。", "info")
    if retagged:
        flash("标签（事项、维度、难度）已更新。", "success")
    return redirect(url_for("questions.detail", question_id=question.id))


def quality_warnings(spec, question: Question | None) -> list[str]:
    """The item-quality lint's warnings for the question being written (the cues that give
    its key away, a stem like one in use); they do not stop saving."""
    warnings = quality.item_warnings(quality.spec_item(spec))
    if spec.type in ("ordering", "matching", "description"):
        return warnings  # their stem is an instruction ("请排序"); the steps make the question
    others = queries.current_stems(question.id if question else None)
    similar = quality.similar_stems(spec.text, [((qid, name), text) for qid, name, text in others])
    for (qid, name), score in similar[:3]:
        what = "相同" if score >= 1 else f"几乎相同（相似度 {score:.2f}）"
        warnings.append(f"题干与在用的题目 #{qid}“{name}”{what}，请确认不是重复出题。")
    return warnings


def _their_changes(question: Question) -> list[str]:
    """What was saved since the version the editor opened (conflicts.check)."""
    started = conflicts.sent_version()
    old = next((v for v in question.versions if v.number == started), None)
    new = next((v for v in question.versions if v.number == question.current_version), None)
    if old is None or new is None or old is new:
        return ["题目内容没有变，修改的是标签（事项、维度或难度）。"]
    return [f"{c.label}：{c.detail}" for c in diff_versions(old.data, new.data, question.qtype)]


def _tags(form: QuestionForm) -> services.Tags:
    return services.Tags(
        item_id=int(form.item.data) if (form.item.data or "").isdigit() else None,
        dimension=Dimension(form.dimension.data) if form.dimension.data else None,
        difficulty=int(form.difficulty.data) if form.difficulty.data else None,
    )


def services_problems(spec) -> list[tuple[str, str]]:
    try:
        services.validate(spec)
    except services.QuestionInvalid as err:
        return err.problems
    return []


def _target_bank(value: str | None) -> QuestionBank | None:
    if not value or not value.isdigit():
        return None
    bank = db.session.get(QuestionBank, int(value))
    return bank if bank is not None and bank.editable and not bank.retired else None


def _render_editor(form, qtype, question=None, status=None):
    conflict = getattr(form, "conflict", None)
    if status is None:
        status = 409 if conflict else 422 if form.problems or form.errors or form.failed else 200
    return render_template(
        "questions/edit.html",
        conflict=conflict,
        form=form,
        qtype=qtype,
        question=question,
        type_label=types.label(qtype),
        type_help=types.get_type(qtype).help,
        scored=types.get_type(qtype).scored,
    ), status


@bp.get("/new")
@requires(Permission.AUTHOR_QUESTIONS)
def choose_type():
    bank_id = request.args.get("bank", "")
    bank = _target_bank(bank_id)
    return render_template(
        "questions/choose_type.html",
        types=types.names(),
        help={name: kind.help for name, kind in types.QUESTION_TYPES.items()},
        bank=bank,
        has_banks=bool(queries.editable_banks()),
    )


@bp.route("/new/<qtype>", methods=["GET", "POST"])
@requires(Permission.AUTHOR_QUESTIONS)
def create(qtype: str):
    if qtype not in types.QUESTION_TYPES:
        abort(404)
    choices = _bank_choices("— 请选择 —")
    if len(choices) == 1:
        flash("还没有可以编辑的题库，请先新建一个题库。", "warning")
        return redirect(url_for("questions.new_bank"))
    data = {"bank": request.args.get("bank", "")}
    bank = _target_bank(data["bank"])
    if bank is not None and bank.item_id:
        data["item"] = str(bank.item_id)
    form = question_form(qtype)(data=data)
    form.bank.choices = choices
    _item_select(form.item, "— 请选择 —")
    response = _editor(form, qtype, None)
    return response or _render_editor(form, qtype)


@bp.route("/<id:question_id>/edit", methods=["GET", "POST"])
@requires(Permission.AUTHOR_QUESTIONS)
def edit(question_id: int):
    question = _question_or_404(question_id)
    if not question.bank.editable:
        flash(services.read_only_message(question.bank) + "。", "warning")
        return redirect(url_for("questions.detail", question_id=question.id))
    spec = services.spec_of(question)
    form = question_form(question.qtype)(data=form_data(spec, question.item_id))
    _item_select(form.item, "— 请选择 —")
    response = _editor(form, question.qtype, question)
    return response or _render_editor(form, question.qtype, question)


# --- retire, restore, copy -----------------------------------------------------------


def _state_change(question_id: int, fn, done: str):
    question = _question_or_404(question_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        errors = form.reason.errors
        flash(f"原因{errors[0]}" if errors else "页面已过期，请重试。", "warning")
        return redirect(url_for("questions.detail", question_id=question.id))
    try:
        fn(current_user, question, form.reason.data or "")
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("questions.detail", question_id=question.id))


@bp.post("/<id:question_id>/retire")
@requires(Permission.AUTHOR_QUESTIONS)
def retire(question_id: int):
    return _state_change(
        question_id, services.retire_question, "已停用：新的考试不会再抽到这道题。"
    )


@bp.post("/<id:question_id>/restore")
@requires(Permission.AUTHOR_QUESTIONS)
def restore(question_id: int):
    return _state_change(question_id, services.restore_question, "已恢复使用。")


@bp.post("/<id:question_id>/copy")
@requires(Permission.AUTHOR_QUESTIONS)
def copy(question_id: int):
    question = _question_or_404(question_id)
    form = CopyForm()
    back = redirect(url_for("questions.detail", question_id=question.id))
    if not form.validate_on_submit():
        flash("页面已过期，请重试。", "warning")
        return back
    bank = _target_bank(form.bank.data)
    if bank is None:
        flash("请选择网页创建或文件导入的题库。", "error")
        return back
    try:
        created = services.copy_question(current_user, question, bank)
    except DomainError as err:
        flash(err.message, "error")
        return back
    flash(f"已复制到题库《{bank.title}》，可以在这里修改。", "success")
    return redirect(url_for("questions.detail", question_id=created.id))


# --- export --------------------------------------------------------------------------


def _filename(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(" ._") or "题库"


@bp.get("/export")
@requires(Permission.AUTHOR_QUESTIONS)
def export():
    fmt = request.args.get("fmt", "")
    if fmt not in formats.FORMATS:
        abort(404)
    f = queries.QuestionFilter.from_args(request.args)
    questions = list(db.session.scalars(queries.question_statement(f).limit(MAX_EXPORT + 1)))
    bank = db.session.get(QuestionBank, f.bank_id) if f.bank_id else None
    if len(questions) > MAX_EXPORT:
        return _export_problems(
            [(0, f"一次最多导出 {MAX_EXPORT} 道题，请先按题库或事项筛选")], fmt, f, 422
        )
    questions.reverse()  # oldest first, as they were written
    specs = services.specs_of(questions)
    try:
        data = services.export_file(specs, fmt)
    except ExportError as err:
        return _export_problems(err.problems, fmt, f, 422, questions)
    suffix, mimetype = formats.get(fmt).suffix, formats.get(fmt).mimetype
    if bank is not None:
        stem = bank.title + ("_筛选结果" if f.args(bank_id=None, status="active") else "")
    else:
        stem = f"题目导出_{date.today():%Y%m%d}"
    name = _filename(stem) + suffix
    if fmt == "xlsx":
        return xlsx_download(data, name)
    import io

    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export_problems(problems, fmt, f, status, questions=()):
    by_position = {i: q for i, q in enumerate(questions, 1)}
    return render_template(
        "questions/export_problems.html",
        problems=[(by_position.get(pos), reason) for pos, reason in problems],
        label=formats.get(fmt).label,
        back=url_for("questions.index", **f.args()),
    ), status


# --- import ----------------------------------------------------------------------------


@bp.get("/import/template.xlsx")
@requires(Permission.AUTHOR_QUESTIONS)
def import_template():
    return xlsx_download(excel.template(), "题库导入模板.xlsx")


def _import_form(**data) -> ImportForm:
    form = ImportForm(**data)
    form.bank.choices = _bank_choices("— 新建导入题库（填写下方名称）—")
    _item_select(form.item, "— 不设 —")
    return form


def _upload_page(form=None, file_error=None, problems=None, name="", status=200, changed=False):
    problems = problems or []
    return render_template(
        "questions/import.html",
        form=form or _import_form(),
        file_error=file_error,
        problems=problems[:MAX_SHOWN_PROBLEMS],
        total_problems=len(problems),
        name=name,
        changed=changed,
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        max_bytes=MAX_UPLOAD_BYTES,
    ), status


def _defaults(pending: dict) -> services.ImportDefaults:
    d = pending.get("defaults") or {}
    return services.ImportDefaults(
        item=d.get("item") or None,
        dimension=d.get("dimension") or None,
        difficulty=d.get("difficulty") or None,
    )


def _check_upload(data: bytes, pending: dict):
    """(specs, problems, skipped) for a stored or fresh upload; problems as (line, reason),
    skipped: the questions left out (types the academy does not have)."""
    try:
        parsed = formats.parse(data, pending["fmt"])
    except ParseError as err:
        return [], list(err.problems), []
    return *services.check_import(parsed.questions, _defaults(pending)), parsed.skipped


@bp.get("/import")
@requires(Permission.AUTHOR_QUESTIONS)
def import_page():
    bank = request.args.get("bank", "")
    return _upload_page(_import_form(bank=bank if _target_bank(bank) else ""))


@bp.post("/import")
@requires(Permission.AUTHOR_QUESTIONS)
def import_upload():
    try:
        form, data, name = FLOW.receive(_import_form)
    except UploadRefused as no:
        return _upload_page(no.form, file_error=no.message, status=no.status)
    fmt = form.fmt.data or formats.guess(name)
    if fmt is None:
        return _upload_page(
            form,
            file_error="无法从扩展名判断文件格式，请在“文件格式”中选择 GIFT、Moodle XML 或 Excel。",
            name=name,
            status=422,
        )
    target = _target_bank(form.bank.data)
    new_title = " ".join((form.new_title.data or "").split())
    if target is None and not new_title:
        form.new_title.errors = ["请选择要导入的题库，或填写新题库的名称。"]
        return _upload_page(form, name=name, status=422)
    slugs = _item_slugs()
    pending = {
        "fmt": fmt,
        "name": name,
        "bank": target.id if target else None,
        "new_title": "" if target else new_title,
        "defaults": {
            "item": slugs.get(form.item.data or ""),
            "dimension": form.dimension.data or None,
            "difficulty": int(form.difficulty.data) if form.difficulty.data else None,
        },
    }
    specs, problems, skipped = _check_upload(data, pending)
    if problems:
        return _upload_page(form, problems=problems, name=name, status=422)
    pending = FLOW.keep(data, pending)
    return _preview(specs, pending, skipped=skipped)


def _preview(specs, pending: dict, changed: bool = False, skipped=()):
    target = _target_bank(str(pending.get("bank") or ""))
    names = _item_names()
    counts = Counter(display.type_label(s) for s in specs)
    rows = [
        (
            s,
            display.type_label(s),
            display.tags_text(names.get(s.item or ""), s.dimension, s.difficulty),
            display.answer_summary(s),
        )
        for s in specs[:PREVIEW_ROWS]
    ]
    return render_template(
        "questions/import_preview.html",
        rows=rows,
        counts=sorted(counts.items(), key=lambda kv: -kv[1]),
        total=len(specs),
        target=target,
        new_title=pending.get("new_title"),
        category=services.common_category(specs),
        name=pending.get("name", ""),
        fmt_label=formats.get(pending["fmt"]).label,
        skipped=skipped,
        form=ConfirmForm(formdata=None, token=pending["token"]),
        changed=changed,
        preview_rows=PREVIEW_ROWS,
    )


@bp.post("/import/confirm")
@requires(Permission.AUTHOR_QUESTIONS)
def import_confirm():
    found = FLOW.pending(ConfirmForm())
    if found is None:
        return redirect(url_for("questions.import_page"))
    pending, data = found
    name = str(pending.get("name", ""))
    specs, problems, _skipped = _check_upload(data, pending)
    if problems:  # the catalogue changed since the preview
        FLOW.done(pending)
        return _upload_page(problems=problems, name=name, status=422, changed=True)
    try:
        bank = _target_bank(str(pending.get("bank") or ""))
        if bank is None and pending.get("bank"):
            raise DomainError("目标题库已不能导入（可能已停用），请重新上传并选择题库")
        if bank is None:
            bank = services.create_bank(
                current_user,
                pending.get("new_title") or name,
                category=services.common_category(specs),
                source=BankSource.IMPORT,
            )
        created = services.import_questions(
            current_user, bank, specs, _defaults(pending), source=name
        )
    except services.ImportRejected as err:
        return _upload_page(problems=err.problems, name=name, status=422, changed=True)
    except DomainError as err:
        return _upload_page(file_error=err.message, name=name, status=422)
    FLOW.done(pending)
    flash(f"已向题库《{bank.title}》导入 {len(created)} 道题。", "success")
    return redirect(url_for("questions.index", bank=bank.id))
