"""Command line: ``python -m bench <suite> [options]``.

Suites register here by name -> module; a suite module provides ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Suite modules import the
code they measure lazily, so ``--help`` works even while that code is broken.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUITES = {
    "storage": "bench.storage",
    "documents": "bench.documents",
    "query": "bench.query",
    "transfer": "bench.transfer",
    "processes": "bench.processes",
    "load": "bench.load",
    "language": "bench.language",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="docdb benchmarks; each suite prints markdown and writes "
                    "bench/results/<suite>.json")
    sub = parser.add_subparsers(dest="suite", metavar="suite", required=True)
    for name, module_name in SUITES.items():
        module = importlib.import_module(module_name)
        suite = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(suite)
        suite.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
