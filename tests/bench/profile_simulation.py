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

from tests.bench.exam_day import csrf_of
from tests.bench.profile_exam import Recorder, add_profile_options, run_profile, signed_in
from tests.bench.simulation_steps import RUN, prepare, step_form

OPS = ("start", "page", "step", "end", "refused", "debrief")


def play(app, usernames, slugs, timed: Recorder, rng: random.Random) -> None:
    from werkzeug.datastructures import MultiDict

    for username in usernames:
        client = signed_in(app, username)
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

    def prepare_users(url):
        setup = prepare(url, args.players)
        return setup.usernames, setup.slugs

    run_profile(args, "bench_profile_sim", "simulation", OPS, prepare_users, play)
    return 0


if __name__ == "__main__":
    sys.exit(main())
