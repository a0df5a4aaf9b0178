"""A small TCP balancer for the benchmarks: one listening port, connections handed round-robin
to several app instances (issue 17: two gunicorn instances behind one port, as a province
exam day runs several stateless instances behind nginx or a cloud load balancer).

    python -m tests.bench.balancer --listen 8000 --backend 127.0.0.1:8001 --backend 127.0.0.1:8002

Per connection, not per request: with gunicorn's sync workers every request is its own
connection (they close it after the response), so that is per request too. A backend that
refuses the connection is skipped for that connection (the next one is tried). It prints
how many connections went to each backend when it is stopped (SIGTERM/SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen: int, backends: list[tuple[str, int]]) -> None:
    turn = itertools.cycle(range(len(backends)))
    counts = [0] * len(backends)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        for _ in range(len(backends)):
            i = next(turn)
            try:
                up_r, up_w = await asyncio.open_connection(*backends[i])
            except OSError:
                continue
            counts[i] += 1
            await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
            return
        client_w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"balancer on 127.0.0.1:{listen} → {backends}", flush=True)
    async with server:
        await stop.wait()
    print("connections per backend: " + ", ".join(map(str, counts)), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--backend", action="append", required=True, help="host:port")
    args = ap.parse_args(argv)
    backends = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in args.backend]
    asyncio.run(serve(args.listen, backends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
