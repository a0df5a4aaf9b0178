"""Village Agent Academy — 村级代办员学习与技能测评平台."""

from __future__ import annotations

import logging
import os

from flask import Flask, request
from werkzeug.routing import BaseConverter, ValidationError

from academy import config as config_module
from academy.extensions import babel, csrf, db, limiter, login_manager, migrate

MAX_DB_INT = 2**31 - 1


class IdConverter(BaseConverter):
    """A positive database id; anything else (or an id too big for INTEGER) is a 404."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_DB_INT:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_module.Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config_module.database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_db_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    public = app.config.get("PUBLIC_BASE_URL") or app.config.get("SITE_URL") or ""
    if public.lower().startswith("https://"):
        # Served over HTTPS: cookies never travel in clear, and browsers remember to use
        # HTTPS (HSTS) for a year.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config.setdefault("HSTS_SECONDS", 31536000)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    app.url_map.converters["id"] = IdConverter
    if app.config.get("BEHIND_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    logging.basicConfig(level=logging.INFO)

    _init_extensions(app)
    app.jinja_env.add_extension("jinja2.ext.do")  # base.html builds the menu as a list
    _register_blueprints(app)

    from academy import cli, errors, web
    from academy.certification.services import on_learning_progress
    from academy.events import learning_progressed, posting_started, postings_started
    from academy.learning.bulk_plans import on_postings_started
    from academy.learning.services import on_posting_started

    posting_started.connect(on_posting_started)
    postings_started.connect(on_postings_started)
    register_content_kinds()
    from academy.activity import models as _activity_models  # noqa: F401 (tables for Alembic)
    from academy.competition import models as _competition_models  # noqa: F401 (tables)
    from academy.exams import models as _exam_models  # noqa: F401 (tables for Alembic)
    from academy.questions import models as _question_models  # noqa: F401 (tables for Alembic)
    from academy.questions.types import check_registry

    problems = check_registry(templates=set(app.jinja_env.list_templates()))
    if problems:
        raise RuntimeError(f"question type registry: {'; '.join(problems)}")
    _check_simulation_kinds()
    learning_progressed.connect(on_learning_progress)

    errors.register(app)
    from academy.auth import policy

    policy.install(app)
    web.register(app)
    cli.register(app)
    return app


def _check_simulation_kinds() -> None:
    from academy.simulations import models as _simulation_models  # noqa: F401 (tables)
    from academy.simulations.kinds import check_registry as check_step_kinds

    missing = check_step_kinds()
    if missing:
        raise RuntimeError(f"simulation step kinds not registered: {', '.join(missing)}")


def register_content_kinds() -> None:
    """Each feature that owns a folder of content files registers it (academy.content)."""
    from academy import content
    from academy.content.loader import validate_module
    from academy.learning.services import sync_modules
    from academy.questions.services import sync_banks, validate_bank_file
    from academy.simulations.rules import check_case
    from academy.simulations.services import sync_cases

    content.register("courses", validate=validate_module, sync=sync_modules)
    content.register("question_banks", validate=validate_bank_file, sync=sync_banks)
    content.register(
        "simulations",
        validate=lambda display, data, bundle: check_case(display, data, bundle.known_slugs),
        sync=sync_cases,
    )


def _init_extensions(app: Flask) -> None:
    from academy import dbsetup

    db.init_app(app)
    dbsetup.configure_engines(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])
    _source_language_gettext(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from academy.auth import services as auth_services

    login_manager.user_loader(auth_services.load_user)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)


def _source_language_gettext(app: Flask) -> None:
    """The interface is written in Chinese and ships no translation catalogues: templates'
    ``_()`` returns its text as written. Flask-Babel would look the catalogue up on every
    call (hundreds on an exam page); with none to find, the templates get gettext from an
    empty catalogue directly. A deployment that adds catalogues keeps Flask-Babel's."""
    from babel.support import NullTranslations

    folders = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")
    if any(os.path.isdir(os.path.join(app.root_path, f)) for f in folders):
        return
    none = NullTranslations()
    app.jinja_env.install_gettext_callables(none.gettext, none.ngettext, newstyle=True)


def _register_blueprints(app: Flask) -> None:
    from academy.activity.views import bp as activity_bp
    from academy.analytics.views import bp as analytics_bp
    from academy.audit.views import bp as audit_bp
    from academy.auth.views import bp as auth_bp
    from academy.catalogue.views import bp as catalogue_bp
    from academy.certification.views import bp as certification_bp
    from academy.competition.views import bp as competition_bp
    from academy.exams.admin_views import bp as exam_admin_bp
    from academy.exams.views import bp as exams_bp
    from academy.handbook.views import bp as handbook_bp
    from academy.learning.views import bp as learning_bp
    from academy.main.views import bp as main_bp
    from academy.practice.views import bp as practice_bp
    from academy.questions.views import bp as questions_bp
    from academy.regions.views import bp as regions_bp
    from academy.roster.views import bp as roster_bp
    from academy.simulations.views import bp as simulations_bp

    for bp in (
        main_bp,
        auth_bp,
        regions_bp,
        roster_bp,
        catalogue_bp,
        audit_bp,
        learning_bp,
        practice_bp,
        handbook_bp,
        certification_bp,
        analytics_bp,
        exams_bp,
        questions_bp,
        activity_bp,
        exam_admin_bp,
        competition_bp,
        simulations_bp,
    ):
        app.register_blueprint(bp)

    @app.context_processor
    def _large_type():
        return {"large_type": request.cookies.get("large_type") == "1"}
