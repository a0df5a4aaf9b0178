"""Configuration, read from environment variables with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """A per-installation secret key, created once and kept under instance/."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


def normalise_db_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form and use psycopg 3 for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from DATABASE_URL in create_app
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL: a pooled connection is pinged before use only when it sat idle this long
    # (academy/dbsetup.py); unset (None) for no check at all.
    DB_PING_AFTER_IDLE_SECONDS: float | None = float(
        os.environ.get("DB_PING_AFTER_IDLE_SECONDS", "10")
    )
    REDIS_URL: str | None = os.environ.get("REDIS_URL") or None
    # SQLite only: how long a write waits for the database's single write lock (then 503).
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "30000"))
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    WTF_CSRF_TIME_LIMIT = 8 * 3600  # an exam or a long form must not expire mid-way
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PER_PAGE = 20
    # The largest request body (uploads: roster 20 MB, questions 5 MB); more is a 413.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(32 * 1024 * 1024)))
    # Login throttling (academy.auth.services.authenticate), per LOGIN_WINDOW_SECONDS:
    # LOGIN_MAX_FAILURES failures lock an account from that address, _PER_ACCOUNT from
    # anywhere lock the account; past _PER_IP failures from one address (abuse, not a busy
    # village office behind one NAT) an account that failed from there is refused at once.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "20"))
    LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "200"))
    LOGIN_WINDOW_SECONDS = int(os.environ.get("LOGIN_WINDOW_SECONDS", "900"))
    # Public certificate verification: lookups per client address per window.
    VERIFY_MAX_LOOKUPS = int(os.environ.get("VERIFY_MAX_LOOKUPS", "30"))
    VERIFY_WINDOW_SECONDS = int(os.environ.get("VERIFY_WINDOW_SECONDS", "600"))
    # Behind a reverse proxy (nginx): trust one hop of X-Forwarded-For/-Proto/-Host so that
    # rate limits see the real client and links (QR codes) use the public host.
    BEHIND_PROXY = os.environ.get("BEHIND_PROXY", "0") == "1"
    # The public address of the site (https://academy.example.cn): the homePage of learners'
    # accounts in exported xAPI statements ("urn:academy" when unset).
    SITE_URL = os.environ.get("SITE_URL") or None
    # Excel exports of the learning-event log stop at this many rows (JSON Lines has no cap).
    ACTIVITY_XLSX_MAX_ROWS = int(os.environ.get("ACTIVITY_XLSX_MAX_ROWS", "200000"))
    CONTENT_ROOT = os.environ.get("CONTENT_ROOT")  # defaults to the project folder
    ONBOARDING_DAYS = int(os.environ.get("ONBOARDING_DAYS", "30"))
    # Coverage rule: every village needs an active certified agent per item "category"
    # it offers (or per "item"); optionally two agents at 示范型 stations.
    COVERAGE_MODE = os.environ.get("COVERAGE_MODE", "category")
    COVERAGE_TWO_FOR_MODEL = os.environ.get("COVERAGE_TWO_FOR_MODEL", "0") == "1"
    # Frozen certificate documents: the public address printed in their QR code (the
    # request's own address is used when unset), and headless Chromium for the PDF
    # ("" turns PDFs off: the HTML snapshot is served instead).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None
    # Where the last public address seen is kept ("" = instance/public_address, None = memory).
    PUBLIC_ADDRESS_FILE = os.environ.get("PUBLIC_ADDRESS_FILE", "")
    CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    CHROMIUM_TIMEOUT_SECONDS = int(os.environ.get("CHROMIUM_TIMEOUT_SECONDS", "60"))
    # Most certificates in one ZIP download.
    CERT_ARCHIVE_MAX = int(os.environ.get("CERT_ARCHIVE_MAX", "5000"))
    # The learning-event log (academy/activity); 0 turns appending off (benchmarks compare).
    LEARNING_EVENTS = os.environ.get("LEARNING_EVENTS", "1") != "0"
    # Exam starts running at once (per app, or across instances with REDIS_URL); more wait
    # in a queue that the page retries by itself.
    EXAM_START_CONCURRENCY = int(os.environ.get("EXAM_START_CONCURRENCY", "8"))
    # Starts read an exam's question pools once per process every this many seconds (0: at
    # every start); a question retired or edited reaches new draws within it.
    EXAM_POOL_CACHE_SECONDS = float(os.environ.get("EXAM_POOL_CACHE_SECONDS", "15"))
    # Item statistics label a question 过难/过易/区分度为负 only from this many answers;
    # below it they say 样本不足 (academy/exams/statistics.py says why 30).
    ITEM_STATS_MIN_ANSWERS = int(os.environ.get("ITEM_STATS_MIN_ANSWERS", "30"))
    # A failed module check can be taken again after this many minutes (0: at once); see
    # academy/learning/rules.py (check_retake_at).
    CHECK_RETAKE_MINUTES = int(os.environ.get("CHECK_RETAKE_MINUTES", "30"))


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False  # tests that check CSRF turn it back on
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = None
    LOGIN_MAX_FAILURES = 5
    LOGIN_MAX_FAILURES_PER_IP = 1000
    PUBLIC_ADDRESS_FILE = None  # remember the public address in memory only
    CHROMIUM_PATH = ""  # each launch takes a second: the PDF tests turn it on themselves
    CHECK_RETAKE_MINUTES = 0  # journeys fail then pass a check; the wait has its own tests
    EXAM_POOL_CACHE_SECONDS = 0  # tests retire and edit questions between draws


def database_url(app_instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_db_url(url)
    return "sqlite:///" + str(Path(app_instance_path) / "academy.db")


def secret_key(app_instance_path: str) -> str:
    return os.environ.get("SECRET_KEY") or _instance_secret(Path(app_instance_path))
