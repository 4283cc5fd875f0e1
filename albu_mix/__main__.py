"""Command line: ``python -m albu_mix demo [--out PATH]`` writes the demo gallery."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DEFAULT_OUT = "albu_mix_demo.png"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m albu_mix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="render the gallery of every transform on the bundled photographs")
    demo.add_argument("--out", default=DEFAULT_OUT, help=f"PNG file to write (default: ./{DEFAULT_OUT})")
    args = parser.parse_args(argv)

    from .demo import write_gallery

    path = write_gallery(args.out)
    print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
