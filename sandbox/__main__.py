"""`python -m sandbox [--host 127.0.0.1] [--port 8900] [--db PATH] [--reset]`"""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.server import serve_forever
from sandbox.settings import SandboxSettings


def main(argv: list[str] | None = None) -> None:
    defaults = SandboxSettings()
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve Tellescope's REST API locally (settings also from SANDBOX_* variables).",
    )
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--db", type=Path, default=defaults.db, help="SQLite file")
    parser.add_argument(
        "--reset", action="store_true", help="delete the database first and seed afresh"
    )
    args = parser.parse_args(argv)
    settings = defaults.model_copy(update={"host": args.host, "port": args.port, "db": args.db})
    serve_forever(settings, reset=args.reset)


if __name__ == "__main__":
    main()
