"""`flask` commands: database set-up, content check/sync, demo data, users."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from academy.extensions import db

content_cli = AppGroup(
    "content", help="校验与同步内容文件（courses/、question_banks/、simulations/）。"
)
users_cli = AppGroup("users", help="账号管理。")

cert_cli = AppGroup("certification", help="资格认证：方案、发证评估、证书存档、每日提醒。")
questions_cli = AppGroup(
    "questions", help="题目文件（GIFT、Moodle XML、Excel）：解析、导入、导出。"
)
exams_cli = AppGroup("exams", help="考试：到时自动交卷、题目统计。")


@exams_cli.command("finish-overdue")
def exams_finish_overdue() -> None:
    """Submit every attempt whose time is up (run by cron, e.g. every minute). Idempotent:
    a second run finds nothing to do."""
    from academy.exams.services import finish_overdue

    total = 0
    while made := finish_overdue(limit=500):
        db.session.commit()
        total += made
    click.echo(f"到时自动交卷 {total} 份。")


@exams_cli.command("stats")
@click.argument("exam_id", type=click.IntRange(min=1))
def exams_stats(exam_id: int) -> None:
    """Print the item statistics of an exam (all townships' graded attempts)."""
    from academy.auth.policy import Scope
    from academy.exams import reports
    from academy.exams.models import Exam

    exam = db.session.get(Exam, exam_id)
    if exam is None:
        click.echo(f"考试 {exam_id} 不存在。", err=True)
        sys.exit(1)
    report = reports.exam_report(Scope.everything(), exam)
    n = reports.fmt_number
    s = report.summary
    click.echo(f"《{exam.title}》 已评分作答 {s.n} 份")
    click.echo(
        f"平均得分率 {n(s.mean_percent, 1)}%  中位数 {n(s.median_percent, 1)}%  "
        f"标准差 {n(s.sd_percent, 1)}  α {n(s.alpha)}  "
        f"及格率 {n(s.pass_rate * 100 if s.pass_rate is not None else None, 1)}%"
    )
    click.echo("题目\t版本\t人数\t难度系数\t标准差\t区分度\t高低分组\t提示\t名称")
    for row in report.rows:
        x = row.stats
        click.echo(
            "\t".join(
                [
                    f"#{row.question.id}",
                    f"v{row.version_number}" if row.version_number else "全部",
                    str(x.n),
                    n(x.facility),
                    n(x.sd),
                    n(x.discrimination),
                    n(x.upper_lower),
                    "样本不足" if x.too_few else (",".join(x.flags) or "-"),
                    row.question.name,
                ]
            )
        )


def _format_choice():
    from academy.questions import formats

    return click.Choice(list(formats.FORMATS))


def _read_file(file: Path, fmt: str | None, count: bool = False):
    """Parse a question file or exit 1 with each problem on stderr; questions the academy
    cannot take (types it does not have) are named on stderr and left out."""
    from academy.questions import formats
    from academy.questions.spec import ParseError

    fmt = fmt or formats.guess(file.name)
    if fmt is None:
        names = "|".join(formats.FORMATS)
        click.echo(f"{file}:1: 无法从扩展名判断格式，请用 --format {names} 指定", err=True)
        sys.exit(1)
    try:
        parsed = formats.parse(file.read_bytes(), fmt)
    except ParseError as err:
        for where, reason in err.problems:
            click.echo(f"{file}:{where if where is not None else 1}: {reason}", err=True)
        if count:
            click.echo(f"共 {len(err.problems)} 处问题，没有导入任何题目。", err=True)
        sys.exit(1)
    for s in parsed.skipped:
        where = f"{file}:{s.line or 1}"
        click.echo(f"{where}: 跳过第 {s.position} 题 “{s.name}”：{s.reason}", err=True)
    return parsed.questions


@questions_cli.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=_format_choice(),
    default=None,
    help="文件格式（默认按扩展名：.gift/.txt、.xml、.xlsx）。",
)
def questions_parse(file: Path, fmt: str | None) -> None:
    """Parse a GIFT, Moodle XML or Excel file and print the questions as JSON (lossless:
    see ``spec.Question.as_json``).

    Touches no database. On any problem: each as `<file>:<line or row>: <reason>` on
    stderr, nothing on stdout, exit code 1. Questions of types the academy does not have
    (Moodle XML: cloze, calculated, random …) are named on stderr and left out.
    """
    import json

    questions = _read_file(file, fmt)
    data = {"questions": [q.as_json() for q in questions]}
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _bank_by_slug(slug: str):
    from academy.questions.models import QuestionBank

    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.slug == slug))
    if bank is None:
        click.echo(f"没有标识为 “{slug}” 的题库（见网页“题库列表”）", err=True)
        sys.exit(1)
    return bank


@questions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "slug", required=True, help="目标题库的标识（网页创建或文件导入的题库）。")
@click.option("--format", "fmt", type=_format_choice(), default=None)
@click.option("--item", default=None, help="文件中未标注事项的题目使用的事项标识。")
@click.option(
    "--dimension",
    type=click.Choice(["knowledge", "etiquette", "emergency"]),
    default=None,
    help="未标注维度的题目使用的维度。",
)
@click.option("--difficulty", type=click.IntRange(1, 3), default=None, help="未标注的难度。")
def questions_import(
    file: Path,
    slug: str,
    fmt: str | None,
    item: str | None,
    dimension: str | None,
    difficulty: int | None,
) -> None:
    """Import every question of a GIFT, Moodle XML or Excel file into a bank, or none.

    Same checks as the web import; on any problem each is printed as
    `<file>:<line or row>: <reason>` on stderr and nothing is written (exit 1).
    """
    from academy.errors_domain import DomainError
    from academy.questions import services

    bank = _bank_by_slug(slug)
    specs = _read_file(file, fmt, count=True)
    defaults = services.ImportDefaults(item=item, dimension=dimension, difficulty=difficulty)
    try:
        created = services.import_questions(None, bank, specs, defaults, source=file.name)
    except services.ImportRejected as err:
        db.session.rollback()
        for where, reason in err.problems:
            click.echo(f"{file}:{where if where is not None else 1}: {reason}", err=True)
        click.echo(f"共 {len(err.problems)} 处问题，没有导入任何题目。", err=True)
        sys.exit(1)
    except DomainError as err:
        db.session.rollback()
        click.echo(f"未导入：{err.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已向题库《{bank.title}》导入 {len(created)} 道题。")


@questions_cli.command("export")
@click.option("--bank", "slug", required=True, help="题库标识。")
@click.option("--format", "fmt", type=_format_choice(), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--include-retired", is_flag=True, help="也导出已停用的题目。")
def questions_export(slug: str, fmt: str, output: Path, include_retired: bool) -> None:
    """Write a bank's questions (current versions) as GIFT, Moodle XML or Excel.

    If the format cannot carry some question, every such question is listed on stderr
    and no file is written (exit 1).
    """
    from academy.questions import services
    from academy.questions.spec import ExportError

    bank = _bank_by_slug(slug)
    questions = services.bank_questions(bank, include_retired=include_retired)
    try:
        data = services.export_file(services.specs_of(questions), fmt)
    except ExportError as err:
        for where, reason in err.problems:
            click.echo(f"第 {where} 题: {reason}", err=True)
        click.echo("没有写出文件。", err=True)
        sys.exit(1)
    output.write_bytes(data)
    click.echo(f"已导出 {len(questions)} 道题到 {output}")


@cert_cli.command("schemes")
def cert_schemes() -> None:
    """Create the default scheme per item category if missing."""
    from academy.certification.services import ensure_default_schemes

    created = ensure_default_schemes()
    db.session.commit()
    click.echo(f"新建认证方案 {created} 个。")


@cert_cli.command("evaluate")
def cert_evaluate() -> None:
    """Issue earned certificates and renewals for every active agent (run daily)."""
    from academy.certification.services import evaluate_agent
    from academy.roster.models import Agent, Posting

    agents = db.session.scalars(
        sa.select(Agent).join(Posting).where(Posting.left_on.is_(None)).distinct()
    ).all()
    issued = sum(len(evaluate_agent(a)) for a in agents)
    db.session.commit()
    click.echo(f"评估在岗代办员 {len(agents)} 人，新发或续期证书 {issued} 张。")
    if issued:
        _warn_public_url()


@cert_cli.command("freeze")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="本次最多生成多少个 PDF（每个约 1 秒；默认不限）。",
)
@click.option("--no-pdf", is_flag=True, help="只补建网页存档，不生成 PDF。")
def cert_freeze(limit: int | None, no_pdf: bool) -> None:
    """Store the documents certificates still lack: a snapshot for those issued before
    documents existed (rendered from today's data), then the PDFs, printed by headless
    Chromium from the stored snapshots. Idempotent; commits as it goes. Run daily."""
    from flask import current_app

    from academy.certification import documents

    batch = 50
    backfilled = 0
    while made := documents.backfill(batch):
        db.session.commit()
        backfilled += made
    if backfilled:
        click.echo(
            f"补建网页存档 {backfilled} 张：这些证书发证时尚无存档功能，按当前资料"
            "（姓名、证书类别名称、版式）生成，不是发证当日的原样。"
        )
        _warn_public_url()
    pending = documents.freeze_state().html_only
    path = current_app.config.get("CHROMIUM_PATH") or ""
    if no_pdf:
        click.echo(f"未生成 PDF（--no-pdf）；仅有网页存档的证书 {pending} 张。")
        return
    if not pending:
        _freeze_summary(backfilled, 0, 0, pending)
        return
    if not documents.pdf_enabled():
        why = "PDF 已关闭（CHROMIUM_PATH 为空）"
        if path:
            why = f"未找到 Chromium（CHROMIUM_PATH={path}）"
        click.echo(f"{why}，没有生成 PDF；{pending} 张证书下载时提供网页存档。")
        return
    made = failed = 0
    after = 0
    while limit is None or made + failed < limit:
        take = batch if limit is None else min(batch, limit - made - failed)
        docs = documents.pdf_pending(take, after)
        if not docs:
            break
        for doc in docs:
            if documents.render_pdf(doc):
                made += 1
            else:
                failed += 1
            after = doc.id
        db.session.commit()
    _freeze_summary(backfilled, made, failed, documents.freeze_state().html_only)
    if failed:
        sys.exit(1)


def _warn_public_url() -> None:
    from flask import current_app

    from academy.public_address import last_public_address

    if not current_app.config.get("PUBLIC_BASE_URL"):
        seen = last_public_address()
        where = f"最近一次访问的网址 {seen}" if seen else "http://localhost/…（他人扫码打不开）"
        click.echo(
            f"提示：未设置 PUBLIC_BASE_URL，命令行生成的证书存档里，二维码的核验网址用{where}；"
            "请设置为本系统对外的网址。",
            err=True,
        )


def _freeze_summary(backfilled: int, made: int, failed: int, html_only: int) -> None:
    if not (backfilled or made or failed):
        click.echo(f"没有需要补建的存档，也没有新生成的 PDF；仅有网页存档的证书 {html_only} 张。")
        return
    line = f"生成 PDF {made} 张"
    if failed:
        line += f"，失败 {failed} 张（原因见日志，下次运行会重试）"
    click.echo(f"{line}；仍仅有网页存档的证书 {html_only} 张。")


@cert_cli.command("notify")
def cert_notify() -> None:
    """Build today's alerts (expiring certificates, lost coverage, overdue plans), log
    certificate lapses and roll up finished months of learning activity. Idempotent."""
    from academy.certification.alerts import build_alerts

    run = build_alerts()
    db.session.commit()
    click.echo(f"提醒：新增 {run.created} 条，已解除 {run.resolved} 条，当前未解除 {run.open} 条。")
    click.echo(f"学习记录：新记证书过期失效 {run.lapsed} 条，汇总月份 {run.months} 个。")
    from academy import uploads

    swept = uploads.sweep()
    if swept:
        click.echo(f"已删除过期未确认的上传文件 {swept} 个。")


@content_cli.command("check")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="内容根目录（默认为项目目录）。",
)
@click.option(
    "--quality", is_flag=True, help="逐个文件列出题目质量数字（各种应试线索猜中答案的比例）。"
)
def content_check(root: Path | None, quality: bool) -> None:
    """Validate every content file; print all problems as `path: field: reason`.

    When every file is valid, the item-quality lint (academy/questions/quality.py) runs on
    the banks and module checks: its figures are always printed (per file with --quality),
    and a set beyond the thresholds of question_banks/README.md is a problem like any other."""
    from academy.content import content_root
    from academy.content.loader import load_content
    from academy.questions.quality import lint_content

    bundle = load_content(root or content_root())
    problems = list(bundle.problems)
    if not problems:  # the totals are only meaningful over the whole, valid content
        report = lint_content(bundle.documents)
        problems += report.problems
        for line in report.lines(per_file=quality):
            click.echo(f"题目质量 · {line}")
    for problem in sorted(problems):
        click.echo(str(problem))
    if problems:
        click.echo(f"共发现 {len(problems)} 个问题。", err=True)
        sys.exit(1)
    docs = sum(len(v) for v in bundle.documents.values())
    click.echo(f"内容校验通过：事项 {len(bundle.items)} 项，其他内容文件 {docs} 个。")


@content_cli.command("sync")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None)
def content_sync(root: Path | None) -> None:
    """Upsert content by slug (idempotent; never deletes learner history)."""
    from academy.content import content_root
    from academy.content.loader import load_content
    from academy.content.problems import ContentInvalid
    from academy.content.sync import sync_content

    bundle = load_content(root or content_root())
    if bundle.problems:
        for problem in sorted(bundle.problems):
            click.echo(str(problem))
        click.echo(f"内容有 {len(bundle.problems)} 个问题，未做任何更改。", err=True)
        sys.exit(1)
    try:
        report = sync_content(bundle)
    except ContentInvalid as err:
        db.session.rollback()
        for problem in sorted(err.problems):
            click.echo(str(problem))
        click.echo(f"内容有 {len(err.problems)} 个问题，未做任何更改。", err=True)
        sys.exit(1)
    db.session.commit()
    for line in report.lines():
        click.echo(line)
    if not report.changed:
        click.echo("数据库已是最新，无需更改。")


@content_cli.command("export")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None)
def content_export(root: Path | None) -> None:
    """Write the modules as stored in the database back to courses/<slug>.yaml."""
    from academy.content import content_root
    from academy.learning.services import export_modules

    written, unchanged = export_modules(root or content_root())
    for path in written:
        click.echo(f"已写出 {path}")
    click.echo(f"课程模块：写出 {len(written)} 个，与文件相同 {unchanged} 个。")


@users_cli.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default="县级管理员")
@click.password_option("--password")
def create_admin(username: str, display_name: str, password: str) -> None:
    """Create a county admin account (for a fresh production database)."""
    from academy.auth.models import Role
    from academy.auth.services import create_user
    from academy.errors_domain import DomainError

    try:
        create_user(
            None, username=username, display_name=display_name, password=password, role=Role.ADMIN
        )
    except DomainError as err:
        click.echo(f"未创建：{err.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已创建管理员账号 {username}。")


def register(app: Flask) -> None:
    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(cert_cli)
    app.cli.add_command(questions_cli)
    app.cli.add_command(exams_cli)
    from academy.simulations.cli import simulations_cli

    app.cli.add_command(simulations_cli)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database schema to the latest migration."""
        from flask_migrate import upgrade

        upgrade()
        click.echo("数据库已升级到最新版本。")

    @app.cli.command("seed-demo")
    @click.option("--seed", default=2026, show_default=True, help="随机种子（结果可复现）。")
    def seed_demo(seed: int) -> None:
        """Load the demo county (新昌县), its roster and demo accounts. Runs once."""
        from academy.catalogue.models import ServiceItem
        from academy.demo.seed import DemoAlreadyLoaded, seed_demo_data

        if not db.session.scalar(sa.select(sa.func.count()).select_from(ServiceItem)):
            click.echo("请先运行 flask content sync 载入事项目录。", err=True)
            sys.exit(1)
        try:
            summary = seed_demo_data(seed=seed)
        except DemoAlreadyLoaded:
            click.echo("演示数据已存在，未重复载入。")
            return
        db.session.commit()
        for line in summary:
            click.echo(line)
