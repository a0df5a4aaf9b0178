"""Where a simulation request's CPU goes, in-process (issue 13: a step costs no more than an
exam answer save).

    python -m tests.bench.profile_simulation --players 20
    python -m tests.bench.profile_simulation --players 20 --only page,step --sort tottime

Set-up as simulation_steps (a fresh schema ``bench_profile_sim``, shipped content, N agents).
The app runs in this process with the production configuration on PostgreSQL; each player
signs in through the test client (not timed), then plays every shipped case once, as the
bench's players do (a random offered option, forms with some fields empty): POST start, then
per step GET the run page and POST the step, and GET the debrief. Steps that end the case
are counted apart (``end``: they score the run). Printed as profile_exam prints.
"""

from __future__ import annotations

import argparse
import random
import sys

import sqlalchemy as sa

from tests.bench.exam_day import PASSWORD, csrf_of
from tests.bench.profile_exam import Recorder, add_profile_options, production_app
from tests.bench.province import recreate_schema, schema_url
from tests.bench.simulation_steps import RUN, prepare, step_form

OPS = ("start", "page", "step", "end", "refused", "debrief")


def play(app, usernames, slugs, timed: Recorder, rng: random.Random) -> None:
    from werkzeug.datastructures import MultiDict

    for username in usernames:
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        r = client.post(
            "/login",
            data={"csrf_token": csrf_of(login), "username": username, "password": PASSWORD},
        )
        assert r.status_code == 302, r.status_code
        csrf = csrf_of(client.get("/simulations/").get_data(as_text=True))
        for slug in slugs:
            r = timed("start", client.post, f"/simulations/{slug}/start", data={"csrf_token": csrf})
            assert r.status_code == 302, r.status_code
            url = RUN.search(r.headers["Location"]).group(0)
            while True:
                r = timed("page", client.get, url)
                assert r.status_code == 200, r.status_code
                data = MultiDict(step_form(r.get_data(as_text=True), csrf, rng))
                r = timed("step", client.post, f"{url}/step", data=data)
                if r.status_code == 409:  # refused (e.g. a required field left empty)
                    timed.relabel("step", "refused")
                    continue
                assert r.status_code == 302, (r.status_code, r.get_data(as_text=True)[:300])
                if r.headers["Location"].endswith("/debrief"):
                    timed.relabel("step", "end")  # the case ended: the run was scored
                    break
            timed("debrief", client.get, f"{url}/debrief")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--players", type=int, default=20)
    add_profile_options(ap, OPS)
    args = ap.parse_args(argv)

    from academy.config import normalise_db_url

    base_url = normalise_db_url(args.database_url)
    schema = "bench_profile_sim"
    admin = sa.create_engine(base_url)
    url = schema_url(base_url, schema)
    recreate_schema(admin, schema)
    try:
        usernames, slugs, _ = prepare(url, args.players)
        app = production_app(url)
        half = len(usernames) // 2
        rng = random.Random(args.seed)
        timed = Recorder(app, set())
        profiled = Recorder(app, set(filter(None, args.only.split(","))))
        play(app, usernames[:half], slugs, timed, rng)
        play(app, usernames[half:], slugs, profiled, rng)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    timed.report(OPS, args, profiled, "simulation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
