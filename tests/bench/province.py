"""Province-scale dashboard benchmark (DESIGN.md §5) on PostgreSQL.

Builds a province-sized data set with bulk SQL (INSERT … SELECT generate_series — no ORM
objects per row) in a dedicated schema, then times the county overview and a township
dashboard (and their three charts) with a logged-in Flask test client, counting the SQL
statements of every request. The same measurements run on a data set ten times smaller, so
that a query count that grows with the data shows up side by side.

    python -m tests.bench.province \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --schema bench_province [--agents 50000 --villages 20000 --rows 2000000] [--reuse]

``--reuse`` keeps a complete data set already in the schema (and in ``<schema>_small``);
new indexes/columns of the models are added to it first. Dates are placed relative to the
day of generation, so re-measure a reused data set within a few days, or rebuild it.
Reported, not asserted: the bar is a median ≤ 300 ms and a query count independent of size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
ACADEMY_DIR = str(REPO_ROOT / "academy")
MARKER = "village-agent-academy bench:"
BUDGET_MS = 300.0

# name pools for agents (only used to make pages look real)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国红平刚桂兰玉萍飞鹏辉波斌宇浩凯霞琴云晨"


# --------------------------------------------------------------------------------------
# app and schema
# --------------------------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    from academy.config import normalise_db_url

    base = normalise_db_url(base)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def make_app(url: str):
    from academy import create_app
    from academy.config import TestConfig

    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
            "CONTENT_ROOT": str(REPO_ROOT),
        }
    )
    return app


def read_marker(admin: sa.Engine, schema: str) -> dict | None:
    with admin.connect() as conn:
        comment = conn.execute(
            sa.text(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"
            ),
            {"s": schema},
        ).scalar()
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).scalar()
    if not exists:
        return None
    if comment and comment.startswith(MARKER):
        return json.loads(comment[len(MARKER) :])
    return {}


def recreate_schema(admin: sa.Engine, schema: str) -> None:
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')


@contextlib.contextmanager
def _quiet():
    """Alembic's env.py re-applies alembic.ini logging (INFO); keep the report readable."""
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def model_diffs(app) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from academy.extensions import db

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        return [
            d
            for d in compare_metadata(ctx, db.metadata)
            if not (
                isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version"
            )
        ]


def _diff_text(d) -> str:
    if isinstance(d, list):
        return "; ".join(_diff_text(x) for x in d)
    kind = d[0]
    if kind in ("add_index", "remove_index"):
        return f"{kind} {d[1].name} on {d[1].table.name}({', '.join(c.name for c in d[1].columns)})"
    if kind in ("add_table", "remove_table"):
        return f"{kind} {d[1].name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {d[2]}.{d[3].name}"
    return " ".join(str(x) for x in d[:4])


def align_schema_with_models(app) -> list[str]:
    """Add tables, indexes and nullable columns the models have and the schema lacks."""
    from academy.extensions import db

    applied, left = [], []
    with _quiet():
        diffs = model_diffs(app)
    for d in diffs:
        if isinstance(d, tuple) and d[0] in ("add_table", "add_index"):
            d[1].create(db.engine, checkfirst=True)
            applied.append(_diff_text(d))
        elif isinstance(d, tuple) and d[0] == "add_column" and d[3].nullable:
            col = d[3]
            ddl = sa.schema.CreateColumn(col).compile(dialect=db.engine.dialect)
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f'ALTER TABLE "{d[2]}" ADD COLUMN {ddl}')
            applied.append(_diff_text(d) + " (existing rows: NULL)")
        else:
            left.append(_diff_text(d))
    for line in applied:
        print(f"    schema: applied {line}")
    for line in left:
        print(f"    schema: WARNING model/schema difference not applied: {line}")
    return applied


def build_schema(app) -> str:
    """Migrate with Alembic; if the migrations lag the models, rebuild from the models."""
    from flask_migrate import upgrade

    from academy.extensions import db

    try:
        with _quiet():
            upgrade()
            diffs = model_diffs(app)
        if not diffs:
            return "flask_migrate.upgrade()"
        print("    migrations differ from the models:")
        for d in diffs:
            print(f"      - {_diff_text(d)}")
        print("    → schema rebuilt from the models with db.create_all()")
    except Exception as err:  # any migration failure: fall back, say why
        print(
            f"    flask_migrate.upgrade() failed ({err.__class__.__name__}: {err});"
            " using create_all"
        )
    db.session.remove()
    with db.engine.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    db.engine.dispose()
    db.create_all()
    return "db.create_all() (migrations lag the models)"


def load_reference_content() -> None:
    from academy.certification.services import ensure_default_schemes
    from academy.content.loader import load_content
    from academy.content.sync import sync_content
    from academy.extensions import db

    bundle = load_content(REPO_ROOT)
    if bundle.problems:
        for p in sorted(bundle.problems):
            print(f"    content problem: {p}")
        raise SystemExit("content check failed; fix the content files first")
    sync_content(bundle)
    db.session.commit()
    ensure_default_schemes()
    db.session.commit()


# --------------------------------------------------------------------------------------
# data generation (bulk SQL)
# --------------------------------------------------------------------------------------


@dataclass
class Sizes:
    agents: int
    villages: int
    rows: int
    events: int = 0  # learning_event rows

    @property
    def townships(self) -> int:
        return max(1, self.villages // 20)

    @property
    def certificates(self) -> int:
        return round(self.rows * 0.03)

    @property
    def attempts(self) -> int:
        return round((self.rows - self.certificates) * 0.25)

    @property
    def progress(self) -> int:
        return self.rows - self.certificates - self.attempts


def _columns(conn, table: str) -> set[str]:
    return set(
        conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %(t)s",
            {"t": table},
        ).scalars()
    )


def _step(label: str, conn, sql: str, params: dict | None = None) -> int:
    t0 = time.perf_counter()
    res = conn.exec_driver_sql(sql, params or {})
    n = res.rowcount
    print(f"    {label:<44} {n:>10,} rows  {time.perf_counter() - t0:6.1f} s", flush=True)
    return n


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def generate(app, sizes: Sizes, seed: float, today: date) -> dict:
    from academy.catalogue.models import ServiceItem
    from academy.extensions import db

    with app.app_context():
        items = db.session.execute(
            sa.select(ServiceItem.id, ServiceItem.frequency, ServiceItem.scopes).where(
                ServiceItem.retired.is_(False)
            )
        ).all()
    if not items:
        raise SystemExit("no service items after content sync")

    NA, NV, NT = sizes.agents, sizes.villages, sizes.townships
    T = f"DATE '{today.isoformat()}'"
    counts: dict[str, int] = {}
    t_start = time.perf_counter()
    with app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        ex = conn.exec_driver_sql
        ex("SET LOCAL synchronous_commit = off")
        ex("SET LOCAL work_mem = '256MB'")
        ex("SET LOCAL maintenance_work_mem = '512MB'")
        ex("SELECT setseed(%(s)s)", {"s": seed})
        plan_cols = _columns(conn, "onboarding_plan")
        has_alert = bool(_columns(conn, "alert"))

        ex(
            "CREATE TEMP TABLE tmp_item (item_id int PRIMARY KEY, frequency int, "
            "for_village bool, for_community bool) ON COMMIT DROP"
        )
        conn.execute(
            sa.text("INSERT INTO tmp_item VALUES (:i, :f, :v, :c)"),
            [
                dict(i=i, f=f, v="village" in (s or []), c="community" in (s or []))
                for i, f, s in items
            ],
        )

        # --- regions -----------------------------------------------------------------
        county_id = ex(
            "INSERT INTO county (name, code, created_at, updated_at) "
            "VALUES ('基准省（全省合并为一县）', '330000', now(), now()) RETURNING id"
        ).scalar()
        counts["township"] = _step(
            "township",
            conn,
            f"""INSERT INTO township (id, county_id, name, kind, code, position,
                                  created_at, updated_at)
            SELECT g, %(county)s,
                   '基准' || g || CASE mod(g, 10) WHEN 0 THEN '街道' WHEN 1 THEN '街道'
                                  WHEN 9 THEN '乡' ELSE '镇' END,
                   CASE mod(g, 10) WHEN 0 THEN 'subdistrict' WHEN 1 THEN 'subdistrict'
                                   WHEN 9 THEN 'township' ELSE 'town' END,
                   lpad(g::text, 9, '0'), g, now(), now()
            FROM generate_series(1, {NT}) g""",
            {"county": county_id},
        )
        counts["village"] = _step(
            "village (tiers 10/50/40 %)",
            conn,
            f"""INSERT INTO village (id, township_id, name, kind, tier, area,
                                 created_at, updated_at)
            SELECT g, mod(g - 1, {NT}) + 1,
                   CASE WHEN r_kind < 0.12 THEN '第' || g || '社区' ELSE '第' || g || '村' END,
                   CASE WHEN r_kind < 0.12 THEN 'community' ELSE 'village' END,
                   CASE WHEN r_tier < 0.10 THEN 'model' WHEN r_tier < 0.60 THEN 'standard'
                        ELSE 'basic' END,
                   CASE WHEN mod(g, 7) = 0 THEN '片区' || (mod(g, 5) + 1) END,
                   now(), now()
            FROM (SELECT g, random() AS r_kind, random() AS r_tier
                  FROM generate_series(1, {NV}) g) s""",
        )
        counts["village_item"] = _step(
            "village_item (model all; freq>=4; else 65/30 %)",
            conn,
            """INSERT INTO village_item (village_id, item_id)
            SELECT village_id, item_id FROM (
              SELECT v.id AS village_id, i.item_id, v.tier, i.frequency, random() AS r
              FROM village v JOIN tmp_item i
                ON (v.kind = 'village' AND i.for_village)
                OR (v.kind = 'community' AND i.for_community)
            ) s
            WHERE tier = 'model' OR frequency >= 4
               OR r < CASE tier WHEN 'standard' THEN 0.65 ELSE 0.30 END""",
        )

        # --- agents and postings -----------------------------------------------------
        ex(
            f"""CREATE TEMP TABLE tmp_gen ON COMMIT DROP AS
            SELECT g AS agent_id, random() < 0.85 AS active,
                   (1 + floor(random() * {NV}))::int AS village_id,
                   (1 + floor(random() * {NV}))::int AS prev_village,
                   random() AS r_hist, random() AS r_kind,
                   floor(power(random(), 2.0) * 2900)::int AS days_ago,
                   random() AS r_left, random() AS r_reason, random() AS r_complete,
                   random() AS r_gap
            FROM generate_series(1, {NA}) g"""
        )
        counts["agent"] = _step(
            "agent",
            conn,
            f"""INSERT INTO agent (id, name, phone, id_number, birth_year, gender, education,
                                   created_at, updated_at)
            SELECT g,
                   substr(%(sn)s, 1 + floor(random() * length(%(sn)s))::int, 1)
                     || substr(%(gv)s, 1 + floor(random() * length(%(gv)s))::int, 1)
                     || CASE WHEN random() < 0.6
                             THEN substr(%(gv)s, 1 + floor(random() * length(%(gv)s))::int, 1)
                             ELSE '' END,
                   '13' || lpad(mod(g::bigint * 7919, 1000000000)::text, 9, '0'),
                   '330624' || lpad(g::text, 12, '0'),
                   1960 + floor(random() * 45)::int,
                   CASE WHEN random() < 0.55 THEN 'female' ELSE 'male' END,
                   (ARRAY['primary','junior','senior','college','bachelor'])
                     [1 + floor(random() * 5)::int],
                   now(), now()
            FROM generate_series(1, {NA}) g""",
            {"sn": SURNAMES, "gv": GIVEN},
        )
        posting_cols = """(agent_id, village_id, kind, joined_on, left_on, leave_reason,
                           leave_note, created_at, updated_at)"""
        kind = (
            "CASE WHEN r_kind < 0.70 THEN 'full_time' WHEN r_kind < 0.90 THEN 'fallback' "
            "ELSE 'volunteer' END"
        )
        n_post = _step(
            "posting: earlier spells (transfers, returns)",
            conn,
            f"""INSERT INTO posting {posting_cols}
            SELECT agent_id,
                   CASE WHEN r_hist < 0.10
                        THEN CASE WHEN prev_village = village_id THEN mod(village_id, {NV}) + 1
                                  ELSE prev_village END
                        ELSE village_id END,
                   {kind},
                   CASE WHEN r_hist < 0.10 THEN {T} - days_ago - 200 - floor(r_gap * 1300)::int
                        ELSE {T} - days_ago - 400 - floor(r_gap * 1500)::int END,
                   CASE WHEN r_hist < 0.10 THEN {T} - days_ago
                        ELSE {T} - days_ago - 60 - floor(r_gap * 300)::int END,
                   CASE WHEN r_hist < 0.10 THEN 'transferred' ELSE 'resigned' END,
                   NULL, now(), now()
            FROM tmp_gen WHERE active AND r_hist < 0.13""",
        )
        n_post += _step(
            "posting: current/last spell (85 % active)",
            conn,
            f"""INSERT INTO posting {posting_cols}
            SELECT agent_id, village_id, {kind}, {T} - days_ago,
                   CASE WHEN active THEN NULL
                        ELSE {T} - days_ago + floor(r_left * days_ago)::int END,
                   CASE WHEN active THEN NULL
                        ELSE (ARRAY['resigned','retired','replaced','dismissed','other'])
                             [1 + floor(r_reason * 5)::int] END,
                   NULL, now(), now()
            FROM tmp_gen ORDER BY agent_id""",
        )
        counts["posting"] = n_post
        ex(
            """CREATE TEMP TABLE tmp_agent ON COMMIT DROP AS
            SELECT agent_id, village_id, active, days_ago, """
            + T
            + """ - days_ago AS joined_on,
                   (days_ago > 90 AND r_complete < 0.70) AS complete
            FROM tmp_gen"""
        )
        ex("CREATE INDEX ON tmp_agent (village_id)")
        ex(
            "CREATE TEMP TABLE tmp_module ON COMMIT DROP AS SELECT m.id AS module_id, m.item_id "
            "FROM module m JOIN tmp_item i ON i.item_id = m.item_id"
        )
        ex("ANALYZE tmp_agent")
        ex("ANALYZE tmp_module")
        ex("ANALYZE village_item")

        # --- module progress ---------------------------------------------------------
        n_modules = ex("SELECT count(*) FROM tmp_module").scalar()
        offered, offered_complete = ex(
            """SELECT count(*), count(*) FILTER (WHERE a.complete)
            FROM tmp_agent a JOIN village_item vi ON vi.village_id = a.village_id
            JOIN tmp_module m ON m.item_id = vi.item_id"""
        ).one()
        other = NA * n_modules - offered
        target = sizes.progress
        p_off = _clamp(min(0.9, (target - offered_complete) / max(1, offered - offered_complete)))
        p_other = _clamp(
            (target - offered_complete - p_off * (offered - offered_complete)) / max(1, other)
        )
        print(
            f"    progress: {offered:,} offered pairs ({offered_complete:,} of complete agents), "
            f"{other:,} other; keep offered {p_off:.3f}, other {p_other:.3f}"
        )
        counts["module_progress"] = _step(
            "module_progress",
            conn,
            f"""INSERT INTO module_progress (agent_id, module_id, status, section, practice,
                check_attempts, best_score, passed_at, created_at, updated_at)
            SELECT agent_id, module_id, status,
                   CASE status WHEN 'practised' THEN 'check' ELSE 'guide' END,
                   CAST('{{}}' AS json),
                   CASE status WHEN 'passed' THEN 1 + floor(r_score * 3)::int
                               WHEN 'practised' THEN floor(r_score * 2)::int ELSE 0 END,
                   CASE status WHEN 'passed' THEN round((80 + r_score * 20)::numeric, 1)
                               WHEN 'practised' THEN round((30 + r_score * 45)::numeric, 1) END,
                   CASE WHEN status = 'passed' THEN stamp END,
                   joined_on::timestamp + interval '8 hours', stamp
            FROM (
              SELECT *, (joined_on + floor(r_when * ({T} - joined_on))::int)::timestamp
                          + interval '8 hours' + r_score * interval '9 hours' AS stamp,
                     CASE WHEN offered AND complete THEN 'passed'
                          WHEN r_status < 0.55 THEN 'passed'
                          WHEN r_status < 0.70 THEN 'practised'
                          WHEN r_status < 0.95 THEN 'in_progress'
                          ELSE 'not_started' END AS status
              FROM (
                SELECT a.agent_id, m.module_id, a.complete, a.joined_on,
                       (vi.village_id IS NOT NULL) AS offered,
                       random() AS r_keep, random() AS r_status, random() AS r_when,
                       random() AS r_score
                FROM tmp_agent a CROSS JOIN tmp_module m
                LEFT JOIN village_item vi
                  ON vi.village_id = a.village_id AND vi.item_id = m.item_id
              ) raw
              WHERE CASE WHEN offered THEN complete OR r_keep < {p_off} ELSE r_keep < {p_other} END
            ) kept""",
        )

        # --- check attempts ----------------------------------------------------------
        eligible = ex("SELECT count(*) FROM module_progress WHERE status <> 'not_started'").scalar()
        per = max(1, math.ceil(sizes.attempts / max(1, eligible)))
        p_att = _clamp(sizes.attempts / max(1, eligible * per))
        counts["check_attempt"] = _step(
            "check_attempt",
            conn,
            f"""INSERT INTO check_attempt (agent_id, module_id, score, passed, at)
            SELECT agent_id, module_id,
                   CASE WHEN status = 'passed' THEN round((80 + r * 20)::numeric, 1)
                        ELSE round((20 + r * 55)::numeric, 1) END,
                   status = 'passed',
                   COALESCE(passed_at, updated_at) - (n - 1) * interval '2 days'
            FROM (SELECT mp.*, n, random() AS r, random() AS keep
                  FROM module_progress mp CROSS JOIN generate_series(1, {per}) n
                  WHERE mp.status <> 'not_started') s
            WHERE keep < {p_att}""",
        )

        # --- certificates ------------------------------------------------------------
        base_target = sizes.certificates / 1.12
        weight = ex(
            """SELECT COALESCE(sum(CASE WHEN a.complete THEN 1.0 WHEN a.active THEN 0.25
                                       ELSE 0.4 END), 0)
            FROM tmp_agent a JOIN certification_scheme s ON s.active AND s.category IS NOT NULL
            WHERE EXISTS (SELECT 1 FROM village_item vi JOIN service_item i ON i.id = vi.item_id
                          WHERE vi.village_id = a.village_id AND i.category = s.category)"""
        ).scalar()
        p_cert = float(base_target) / max(1.0, float(weight))
        counts["certificate"] = _step(
            "certificate: issued over the last 15 months",
            conn,
            f"""INSERT INTO certificate (id, code, agent_id, scheme_id, issued_on, expires_on,
                revoked_on, revoke_reason, renewed_from_id, source, issued_by_id, note,
                created_at, updated_at)
            SELECT n, 'BP' || lpad(n::text, 10, '0'), agent_id, scheme_id, issued,
                   (issued + interval '12 months')::date - 1,
                   CASE WHEN r_rev < 0.01
                        THEN LEAST({T}, issued + 30 + floor(r_rev * 20000)::int) END,
                   CASE WHEN r_rev < 0.01 THEN '违规代办，县级管理员撤销' END,
                   NULL, CASE WHEN r_src < 0.9 THEN 'earned' WHEN r_src < 0.95 THEN 'award'
                              ELSE 'manual' END,
                   NULL, NULL, issued::timestamp, issued::timestamp
            FROM (
              SELECT row_number() OVER (ORDER BY agent_id, scheme_id) AS n, agent_id, scheme_id,
                     {T} - floor(r_when * LEAST(456, GREATEST(days_ago, 30)))::int AS issued,
                     r_rev, r_src
              FROM (
                SELECT a.agent_id, a.days_ago, s.id AS scheme_id, random() AS r_keep,
                       random() AS r_when, random() AS r_rev, random() AS r_src,
                       CASE WHEN a.complete THEN 1.0 WHEN a.active THEN 0.25 ELSE 0.4 END AS w
                FROM tmp_agent a JOIN certification_scheme s ON s.active AND s.category IS NOT NULL
                WHERE EXISTS (SELECT 1 FROM village_item vi JOIN service_item i ON i.id = vi.item_id
                              WHERE vi.village_id = a.village_id AND i.category = s.category)
              ) c
              WHERE r_keep < w * {p_cert}
            ) s""",
        )
        counts["certificate"] += _step(
            "certificate: renewals of those expiring",
            conn,
            f"""INSERT INTO certificate (id, code, agent_id, scheme_id, issued_on, expires_on,
                revoked_on, revoke_reason, renewed_from_id, source, issued_by_id, note,
                created_at, updated_at)
            SELECT m.top + row_number() OVER (ORDER BY c.id),
                   'BP' || lpad((m.top + row_number() OVER (ORDER BY c.id))::text, 10, '0'),
                   c.agent_id, c.scheme_id, c.expires_on + 1,
                   (c.expires_on + 1 + interval '12 months')::date - 1,
                   NULL, NULL, c.id, 'renewed', NULL, NULL,
                   LEAST({T}, c.expires_on - 20)::timestamp,
                   LEAST({T}, c.expires_on - 20)::timestamp
            FROM certificate c CROSS JOIN (SELECT max(id) AS top FROM certificate) m
            WHERE c.revoked_on IS NULL AND c.expires_on BETWEEN {T} - 90 AND {T} + 45
              AND random() < 0.5""",
        )
        for table in ("county", "township", "village", "agent", "certificate"):
            ex(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(max(id), 1) FROM {table}))"
            )

        # --- onboarding plans --------------------------------------------------------
        digest = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
        ex(
            """CREATE TEMP TABLE tmp_village_list ON COMMIT DROP AS
            SELECT vi.village_id,
                   string_agg(vi.item_id::text, ',' ORDER BY i.frequency DESC, i.item_id) AS list,
                   count(*) AS n
            FROM village_item vi JOIN tmp_item i ON i.item_id = vi.item_id
            GROUP BY vi.village_id"""
        )
        ex("ALTER TABLE tmp_village_list ADD COLUMN digest text")
        ex(f"UPDATE tmp_village_list SET digest = {digest.format('list')}")
        counts["curriculum"] = _step(
            "curriculum (one per distinct village item list)",
            conn,
            f"""INSERT INTO curriculum (digest, size, created_at)
            SELECT DISTINCT digest, n, {T}::timestamp FROM tmp_village_list""",
        )
        _step(
            "curriculum_item",
            conn,
            """INSERT INTO curriculum_item (curriculum_id, item_id, position)
            SELECT c.id, x.item_id::int, x.pos
            FROM curriculum c
            JOIN (SELECT DISTINCT ON (digest) digest, list FROM tmp_village_list) l
              ON l.digest = c.digest
            CROSS JOIN LATERAL unnest(string_to_array(l.list, ','))
                 WITH ORDINALITY AS x(item_id, pos)""",
        )
        counts["onboarding_plan"] = _step(
            "onboarding_plan (one per active posting at a village with items)",
            conn,
            """INSERT INTO onboarding_plan (agent_id, posting_id, village_id, curriculum_id,
                due_on, created_at, updated_at)
            SELECT p.agent_id, p.id, p.village_id, c.id, p.joined_on + 30,
                   p.joined_on::timestamp, p.joined_on::timestamp
            FROM posting p
            JOIN tmp_village_list v ON v.village_id = p.village_id
            JOIN curriculum c ON c.digest = v.digest
            WHERE p.left_on IS NULL ORDER BY p.id""",
        )
        if "completed_on" in plan_cols:
            _step(
                "onboarding_plan.completed_on (all items passed)",
                conn,
                """UPDATE onboarding_plan p SET completed_on = s.done
                FROM (
                  SELECT op.id AS plan_id, max(mp.passed_at)::date AS done,
                         count(*) AS n, count(mp.id) AS n_passed
                  FROM onboarding_plan op
                  JOIN curriculum_item ci ON ci.curriculum_id = op.curriculum_id
                  JOIN module m ON m.item_id = ci.item_id
                  LEFT JOIN module_progress mp ON mp.agent_id = op.agent_id
                       AND mp.module_id = m.id AND mp.status = 'passed'
                  GROUP BY op.id
                ) s
                WHERE s.plan_id = p.id AND s.n = s.n_passed""",
            )

        # --- alerts (what the daily job would have left) ----------------------------
        if has_alert:
            overdue = (
                "p.completed_on IS NULL AND p.due_on < " + T
                if "completed_on" in plan_cols
                else f"p.due_on BETWEEN {T} - 365 AND {T} - 1"
            )
            counts["alert"] = _step(
                "alert: expiring certificates (open/resolved)",
                conn,
                f"""INSERT INTO alert (key, kind, township_id, village_id, agent_id, certificate_id,
                    message, created_at, resolved_at)
                SELECT 'expiring:' || c.id, 'expiring', v.township_id, v.id, c.agent_id, c.id,
                       t.name || v.name || ' ' || a.name || ' 的证书将于 ' || c.expires_on
                         || ' 到期，请尽快复训续期。',
                       (c.expires_on - 30)::timestamp,
                       CASE WHEN r.renewed_from_id IS NOT NULL
                            THEN (c.expires_on - 20)::timestamp END
                FROM certificate c
                LEFT JOIN (SELECT DISTINCT renewed_from_id FROM certificate
                           WHERE renewed_from_id IS NOT NULL) r ON r.renewed_from_id = c.id
                JOIN posting p ON p.agent_id = c.agent_id AND p.left_on IS NULL
                JOIN village v ON v.id = p.village_id
                JOIN township t ON t.id = v.township_id
                JOIN agent a ON a.id = c.agent_id
                WHERE c.revoked_on IS NULL AND c.renewed_from_id IS NULL
                  AND c.expires_on BETWEEN {T} - 60 AND {T} + 30""",
            )
            counts["alert"] += _step(
                "alert: overdue onboarding plans",
                conn,
                f"""INSERT INTO alert (key, kind, township_id, village_id, agent_id, certificate_id,
                    message, created_at, resolved_at)
                SELECT 'plan:' || p.id, 'plan_overdue', v.township_id, v.id, p.agent_id, NULL,
                       t.name || v.name || ' ' || a.name || ' 的入职学习计划已于 ' || p.due_on
                         || ' 到期。',
                       (p.due_on + 1)::timestamp, NULL
                FROM onboarding_plan p
                JOIN village v ON v.id = p.village_id
                JOIN township t ON t.id = v.township_id
                JOIN agent a ON a.id = p.agent_id
                WHERE {overdue}""",
            )
    print(f"    inserts committed in {time.perf_counter() - t_start:.1f} s", flush=True)
    counts.update(generate_events(engine, sizes.agents, sizes.events, seed))

    # VACUUM ANALYZE: visibility map and statistics as on a settled production database
    t0 = time.perf_counter()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = (
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            .scalars()
            .all()
        )
        for table in tables:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    print(f"    VACUUM (ANALYZE) of {len(tables)} tables       {time.perf_counter() - t0:6.1f} s")
    counts.update(record_past_snapshots(app, today))
    counts.update(record_activity_rollups(app, today))
    return counts


# Verb mix of the generated learning events: (upper bound of random(), verb, object type).
EVENT_MIX = (
    (0.14, "opened", "module"),
    (0.70, "answered", "practice"),
    (0.80, "passed", "check"),
    (0.84, "failed", "check"),
    (0.94, "passed", "module"),
    (0.97, "issued", "certificate"),
    (0.99, "renewed", "certificate"),
    (1.01, "lapsed", "certificate"),
)


def generate_events(engine, agents: int, n: int, seed: float) -> dict[str, int]:
    """``n`` learning_event rows over the last 730 days (INSERT … SELECT generate_series):
    random agents at their last posting's village and township, a verb mix like a county's
    (mostly practice answers), real module ids and names."""
    if not n or not _columns_of(engine, "learning_event"):
        return {}
    verb = " ".join(f"WHEN r_verb < {b} THEN '{v}'" for b, v, _ in EVENT_MIX)
    kind = " ".join(f"WHEN r_verb < {b} THEN '{k}'" for b, _, k in EVENT_MIX)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        ex = conn.exec_driver_sql
        ex("SET LOCAL synchronous_commit = off")
        ex("SET LOCAL work_mem = '256MB'")
        ex("SELECT setseed(%(s)s)", {"s": seed / 2})
        ex(
            """CREATE TEMP TABLE tmp_place ON COMMIT DROP AS
            SELECT DISTINCT ON (p.agent_id) p.agent_id, p.village_id, v.township_id
            FROM posting p JOIN village v ON v.id = p.village_id
            ORDER BY p.agent_id, p.joined_on DESC, p.id DESC"""
        )
        ex("ALTER TABLE tmp_place ADD PRIMARY KEY (agent_id)")
        ex(
            """CREATE TEMP TABLE tmp_mod ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY id) AS k, id, title FROM module"""
        )
        ex("ALTER TABLE tmp_mod ADD PRIMARY KEY (k)")
        n_mod = ex("SELECT count(*) FROM tmp_mod").scalar()
        count = _step(
            "learning_event (730 days, verb mix)",
            conn,
            f"""INSERT INTO learning_event (at, agent_id, user_id, verb, object_type, object_id,
                object_name, township_id, village_id, result, context)
            SELECT e.at, e.agent_id, NULL, e.verb, e.kind,
                   CASE e.kind WHEN 'practice' THEN m.id || '/' || e.part
                               WHEN 'certificate' THEN (mod(e.g, 100000) + 1)::text
                               ELSE m.id::text END,
                   CASE e.kind WHEN 'practice' THEN m.title || ' · 练习'
                               WHEN 'check' THEN m.title || ' · 小测'
                               WHEN 'certificate' THEN '登记申领类代办资格（初级）'
                               ELSE m.title END,
                   pl.township_id, pl.village_id,
                   CASE e.kind WHEN 'practice' THEN json_build_object('success', e.r_ok < 0.8)
                               WHEN 'check' THEN json_build_object(
                                 'score', CASE e.verb WHEN 'passed' THEN 5 ELSE 2 END,
                                 'max', 5, 'success', e.verb = 'passed')
                               WHEN 'module' THEN CASE e.verb WHEN 'passed'
                                 THEN json_build_object('completion', true) END
                               END,
                   CASE WHEN e.kind IN ('practice', 'check')
                        THEN json_build_object('parent', 'module:' || m.id) END
            FROM (
              SELECT g, (1 + floor(random() * {agents}))::int AS agent_id,
                     (now() AT TIME ZONE 'UTC') - random() * interval '730 days' AS at,
                     (1 + floor(random() * {n_mod}))::int AS k,
                     (ARRAY['materials','channel','order','form'])[1 + floor(random() * 4)::int]
                       AS part,
                     CASE {verb} END AS verb, CASE {kind} END AS kind, r_ok
              FROM (SELECT g, random() AS r_verb, random() AS r_ok
                    FROM generate_series(1, {n}) g) r
            ) e
            JOIN tmp_place pl ON pl.agent_id = e.agent_id
            JOIN tmp_mod m ON m.k = e.k
            ORDER BY e.at""",
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (ANALYZE) learning_event"
        )
    print(f"    learning_event generated and analysed in {time.perf_counter() - t0:6.1f} s")
    return {"learning_event": count}


def _columns_of(engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return _columns(conn, table)


def record_activity_rollups(app, today: date) -> dict[str, int]:
    """The monthly activity rollups of the past 11 months, as the daily job leaves them
    (timed: that is the job's cost the first time; later it rolls up one month)."""
    try:
        from academy.activity.services import record_month, record_rollups
    except ImportError:
        return {}
    from academy.activity import rules as activity_rules
    from academy.extensions import db

    with app.app_context():
        t0 = time.perf_counter()
        months = record_rollups(today)
        db.session.commit()
        took = time.perf_counter() - t0
        last = activity_rules.recent_months(today, 2)[0]
        t1 = time.perf_counter()
        record_month(last)
        db.session.commit()
        one = time.perf_counter() - t1
        db.session.execute(sa.text("ANALYZE activity_month"))
        db.session.commit()
    print(
        f"    activity rollup of {months} past months {took:6.1f} s "
        f"(activity.services.record_rollups; one month again: {one * 1000:.0f} ms)"
    )
    return {"activity_month_rollups": months}


def record_past_snapshots(app, today: date) -> dict[str, int]:
    """Coverage snapshots of the past month ends, as the daily job would have left them."""
    from academy.certification import coverage, rules
    from academy.extensions import db

    record = getattr(coverage, "record_snapshots", None)
    if record is None:
        return {}
    t0 = time.perf_counter()
    n = 0
    with app.app_context():
        for day in rules.month_ends(today, 12)[:-1]:
            n += record(day)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE coverage_snapshot"))
        db.session.commit()
    print(
        f"    coverage snapshots of 11 past month ends {n:>10,} rows  "
        f"{time.perf_counter() - t0:6.1f} s (certification.coverage.record_snapshots)"
    )
    return {"coverage_snapshot": n}


def ensure_users(app) -> dict:
    """A county admin and the head of a typical township (median number of agents)."""
    from academy.auth.models import Role, User
    from academy.extensions import db
    from academy.regions.models import Township, Village
    from academy.roster.models import Posting

    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "bench-admin"))
        if admin is None:
            admin = User(username="bench-admin", display_name="基准管理员", role=Role.ADMIN)
            admin.set_password("bench2026")
            db.session.add(admin)
        head = db.session.scalar(sa.select(User).where(User.username == "bench-head"))
        if head is None:
            per_township = db.session.execute(
                sa.select(Township.id, sa.func.count(Posting.id))
                .join(Village, Village.township_id == Township.id)
                .join(Posting, sa.and_(Posting.village_id == Village.id, Posting.left_on.is_(None)))
                .group_by(Township.id)
                .order_by(sa.func.count(Posting.id), Township.id)
            ).all()
            township_id = per_township[len(per_township) // 2][0]
            head = User(
                username="bench-head",
                display_name="基准镇街负责人",
                role=Role.TOWNSHIP_HEAD,
                township_id=township_id,
            )
            head.set_password("bench2026")
            db.session.add(head)
        db.session.commit()
        t = db.session.get(Township, head.township_id)
        villages = db.session.scalar(
            sa.select(sa.func.count()).select_from(Village).where(Village.township_id == t.id)
        )
        agents = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Posting)
            .join(Village, Village.id == Posting.village_id)
            .where(Village.township_id == t.id, Posting.left_on.is_(None))
        )
        return {
            "admin": admin.get_id(),
            "head": head.get_id(),
            "township": f"{t.name} (id {t.id}, {villages} villages, {agents} active agents)",
        }


def table_counts(app) -> dict[str, int]:
    from academy.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        tables = (
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
            )
            .scalars()
            .all()
        )
        return {
            t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar()
            for t in tables
            if t != "alembic_version"
        }


def db_engine():
    from academy.extensions import db

    return db.engine


def prepare(base_url: str, schema: str, sizes: Sizes, reuse: bool, seed: float):
    """The app on ``schema`` with a complete data set; generated unless reusable."""
    from academy.config import normalise_db_url

    admin = sa.create_engine(normalise_db_url(base_url))
    marker = read_marker(admin, schema)
    url = schema_url(base_url, schema)
    app = make_app(url)
    print(
        f"\n== schema {schema}: agents {sizes.agents:,}, villages {sizes.villages:,}, "
        f"rows {sizes.rows:,}",
        flush=True,
    )
    if reuse and marker:
        print(
            f"    reusing data set generated {marker.get('generated')} "
            f"(agents {marker['agents']:,}, villages {marker['villages']:,}, "
            f"rows {marker['rows']:,})"
        )
        if (marker["agents"], marker["villages"], marker["rows"]) != (
            sizes.agents,
            sizes.villages,
            sizes.rows,
        ):
            print("    WARNING: the reused data set has other sizes than asked")
        with app.app_context():
            align_schema_with_models(app)
            engine = db_engine()
            with engine.connect() as conn:
                empty = not conn.exec_driver_sql(
                    "SELECT EXISTS (SELECT 1 FROM learning_event)"
                ).scalar()
        if empty and sizes.events:
            print("    the reused data set has no learning events: generating them")
            generate_events(engine, sizes.agents, sizes.events, seed)
            record_activity_rollups(app, date.today())
        admin.dispose()
        return app, marker
    if reuse:
        print("    no complete data set in this schema: generating")
    t0 = time.perf_counter()
    recreate_schema(admin, schema)
    with app.app_context():
        how = build_schema(app)
        print(f"    schema: {how}")
        load_reference_content()
    print(f"    schema + content sync + schemes: {time.perf_counter() - t0:.1f} s", flush=True)
    today = date.today()
    t1 = time.perf_counter()
    counts = generate(app, sizes, seed, today)
    gen_s = time.perf_counter() - t1
    print(
        f"    GENERATION TOOK {gen_s:.1f} s (total with schema set-up "
        f"{time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    marker = {
        "agents": sizes.agents,
        "villages": sizes.villages,
        "rows": sizes.rows,
        "events": sizes.events,
        "generated": datetime.now().isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "generation_seconds": round(gen_s, 1),
        "counts": counts,
    }
    with admin.begin() as conn:
        text = (MARKER + json.dumps(marker, ensure_ascii=False)).replace("'", "''")
        conn.exec_driver_sql(f"COMMENT ON SCHEMA \"{schema}\" IS '{text}'")
    admin.dispose()
    return app, marker


# --------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------


@dataclass
class Stmt:
    sql: str
    params: object
    ms: float
    origin: str


class SqlRecorder:
    """Counts statements on an engine; in trace mode also keeps text, params, time, caller."""

    def __init__(self, engine):
        self.count = 0
        self.trace = False
        self.statements: list[Stmt] = []
        self._pending: list = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def reset(self, trace: bool = False) -> None:
        self.count = 0
        self.trace = trace
        self.statements = []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        origin = _origin() if self.trace else ""
        self._pending.append((time.perf_counter(), origin))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        t0, origin = self._pending.pop()
        if self.trace:
            ms = (time.perf_counter() - t0) * 1000
            self.statements.append(Stmt(statement, parameters, ms, origin))


def _origin() -> str:
    """The app frames (innermost first) that issued a statement: file:function ← …"""
    frames = []
    for fs in reversed(traceback.extract_stack()):
        fn = fs.filename
        if fn.startswith(ACADEMY_DIR) and not fn.endswith(("extensions.py", "dbsetup.py")):
            rel = os.path.relpath(fn, REPO_ROOT)
            name = fs.name if fn.endswith(".py") else f"template:{fs.lineno}"
            frames.append(f"{rel}:{name}")
        if len(frames) == 3:
            break
    return " ← ".join(frames) if frames else "(flask-login / framework)"


@dataclass
class UrlResult:
    url: str
    role: str
    statuses: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sql_ms: float = 0.0
    trace: list[Stmt] = field(default_factory=list)
    bytes: int = 0
    first: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        if len(self.times) < 2:
            return self.times[0]
        return statistics.quantiles(self.times, n=20, method="inclusive")[18]

    @property
    def qcount(self) -> str:
        qs = sorted(set(self.queries))
        return str(qs[0]) if len(qs) == 1 else f"{qs[0]}-{qs[-1]}"


URLS = [
    "/dashboard/",
    "/dashboard/charts/coverage-trend.svg",
    "/dashboard/charts/turnover.svg",
    "/dashboard/charts/training.svg",
    "/dashboard/tables/training",
    "/activity/",
]


def measure(
    app, users: dict, requests: int, warmup: int, max_seconds: float = 120.0
) -> list[UrlResult]:
    from flask import g

    from academy.extensions import db

    @app.before_request
    def _fresh_request_state():  # as tests/conftest.py: no user carried between requests
        g.pop("_login_user", None)

    with app.app_context():
        recorder = SqlRecorder(db.engine)
    out = []
    for role in ("admin", "head"):
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = users[role]
            s["_fresh"] = True
        for url in URLS:
            res = UrlResult(url, "county admin" if role == "admin" else "township head")
            for n in range(warmup):
                t0 = time.perf_counter()
                client.get(url)
                if n == 0:
                    res.first = (time.perf_counter() - t0) * 1000
            started = time.perf_counter()
            for k in range(requests):
                if k >= 3 and time.perf_counter() - started > max_seconds:
                    print(f"    (stopped after {k} timed requests: over {max_seconds:.0f} s)")
                    break
                recorder.reset()
                t0 = time.perf_counter()
                resp = client.get(url)
                res.times.append((time.perf_counter() - t0) * 1000)
                res.statuses.append(resp.status_code)
                res.queries.append(recorder.count)
                res.bytes = len(resp.data)
            recorder.reset(trace=True)
            client.get(url)
            res.trace = recorder.statements
            res.sql_ms = sum(s.ms for s in res.trace)
            recorder.reset()
            ok = all(s == 200 for s in res.statuses)
            print(
                f"    {res.role:<13} {url:<38} status {'200' if ok else res.statuses}  "
                f"min {min(res.times):7.1f}  median {res.median:7.1f}  p95 {res.p95:7.1f}  "
                f"max {max(res.times):7.1f} ms (first {res.first:.0f})  queries {res.qcount:>4}  "
                f"(sql {res.sql_ms:6.1f} ms in the traced request, {res.bytes / 1024:.0f} KiB)",
                flush=True,
            )
            out.append(res)
    return out


def origins_summary(stmts: list[Stmt]) -> list[tuple[str, int, float]]:
    agg: dict[str, list] = {}
    for s in stmts:
        a = agg.setdefault(s.origin, [0, 0.0])
        a[0] += 1
        a[1] += s.ms
    return sorted(((o, n, ms) for o, (n, ms) in agg.items()), key=lambda r: -r[2])


def _short_params(params) -> str:
    text = repr(params)
    return text if len(text) <= 400 else text[:400] + f"… ({len(text)} chars)"


def explain(app, stmt: Stmt) -> tuple[str, str]:
    from academy.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt.sql, stmt.params)
            lines = [r[0] for r in cur.fetchall()]
            raw.rollback()
        finally:
            raw.close()
    total = next((ln for ln in lines if ln.startswith("Execution Time")), "")
    return total, "\n".join(lines)


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        required=not os.environ.get("TEST_DATABASE_URL"),
    )
    ap.add_argument("--schema", default="bench_province")
    ap.add_argument("--agents", type=int, default=50_000)
    ap.add_argument("--villages", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--events", type=int, default=2_000_000, help="learning_event rows")
    ap.add_argument("--reuse", action="store_true", help="keep complete data sets already there")
    ap.add_argument("--requests", type=int, default=10, help="timed requests per URL")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument(
        "--small-factor",
        type=int,
        default=10,
        help="the comparison data set is this many times smaller (0: skip it)",
    )
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop timing a URL after this long (at least 3 timed requests)",
    )
    ap.add_argument("--seed", type=float, default=0.2026)
    ap.add_argument(
        "--explain-top",
        type=int,
        default=3,
        help="EXPLAIN ANALYZE this many slowest statements of every URL over budget",
    )
    args = ap.parse_args(argv)
    if not args.database_url.startswith(("postgresql", "postgres:")):
        ap.error("this benchmark needs PostgreSQL")

    runs = []
    if args.small_factor:
        f = args.small_factor
        runs.append(
            (
                "small",
                f"{args.schema}_small",
                Sizes(args.agents // f, args.villages // f, args.rows // f, args.events // f),
            )
        )
    runs.append(("large", args.schema, Sizes(args.agents, args.villages, args.rows, args.events)))

    results: dict[str, list[UrlResult]] = {}
    apps = {}
    for label, schema, sizes in runs:
        app, marker = prepare(args.database_url, schema, sizes, args.reuse, args.seed)
        apps[label] = app
        counts = table_counts(app)
        print("    rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items() if n))
        big3 = sum(counts.get(t, 0) for t in ("module_progress", "check_attempt", "certificate"))
        print(f"    progress + attempts + certificates = {big3:,}")
        users = ensure_users(app)
        print(f"    township head's township: {users['township']}")
        if marker.get("today") and marker["today"] != date.today().isoformat():
            print(f"    note: data dated relative to {marker['today']}, today is {date.today()}")
        print(f"  timing ({args.warmup} warm-up + {args.requests} timed requests per URL):")
        results[label] = measure(app, users, args.requests, args.warmup, args.max_seconds)

    large = results["large"]
    small = results.get("small")
    print("\n== summary (times from the large data set)")
    header = (
        f"{'URL':<38} | {'role':<13} | {'median ms':>9} | {'p95 ms':>7} | "
        f"{'queries (small)':>15} | {'queries (large)':>15} | ≤300 ms?"
    )
    print(header)
    print("-" * len(header))
    growing = []
    for i, r in enumerate(large):
        qs = small[i].qcount if small else "-"
        flag = ""
        if small and small[i].qcount != r.qcount:
            flag = "  ← QUERY COUNT GROWS WITH DATA"
            growing.append((small[i], r))
        ok = "yes" if r.median <= BUDGET_MS else "NO"
        status = "" if all(s == 200 for s in r.statuses) else f"  status {sorted(set(r.statuses))}"
        print(
            f"{r.url:<38} | {r.role:<13} | {r.median:9.1f} | {r.p95:7.1f} | {qs:>15} | "
            f"{r.qcount:>15} | {ok}{flag}{status}"
        )

    for s, r in growing:
        print(
            f"\n== query count differs: {r.role} {r.url}: {s.qcount} (small) vs {r.qcount} (large)"
        )
        so = {o: n for o, n, _ in origins_summary(s.trace)}
        for o, n, ms in origins_summary(r.trace):
            if so.get(o) != n:
                print(f"    {n:>5} (small {so.get(o, 0):>4}) statements, {ms:8.1f} ms  {o}")

    slow = [r for r in large if r.median > BUDGET_MS]
    for r in slow:
        print(
            f"\n== over budget: {r.role} {r.url}  median {r.median:.1f} ms, "
            f"sql {r.sql_ms:.1f} ms in {len(r.trace)} statements "
            f"(the rest is Python: ORM loading, templates, charts)"
        )
        print("  time by issuing function:")
        for o, n, ms in origins_summary(r.trace)[:10]:
            print(f"    {ms:8.1f} ms  {n:>4} stmts  {o}")
        for k, st in enumerate(sorted(r.trace, key=lambda s: -s.ms)[: args.explain_top], 1):
            total, plan = explain(apps["large"], st)
            print(f"\n  -- slowest #{k}: {st.ms:.1f} ms in the request; EXPLAIN ANALYZE {total}")
            print(f"  issued by: {st.origin}")
            print("  statement:")
            print("    " + st.sql.replace("\n", "\n    "))
            print(f"  parameters: {_short_params(st.params)}")
            print("  plan:")
            print("    " + plan.replace("\n", "\n    "))
    bad = [r for r in large if not all(s == 200 for s in r.statuses)]
    if bad:
        print("\nFAILED: non-200 responses: " + ", ".join(f"{r.role} {r.url}" for r in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
