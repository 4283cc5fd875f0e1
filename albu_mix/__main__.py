"""Command line of albu_mix: ``python -m albu_mix demo [--out PATH]`` (or ``albu-mix demo``).

Help and error messages are plain text; errors in the arguments (an output path whose directory
is missing or not writable, an extension OpenCV cannot write) exit with status 2 and no traceback,
checked before the gallery is rendered.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .demo import can_write_extension, writable_extensions, write_gallery

DEFAULT_OUT = "albu_mix_demo.png"

DESCRIPTION = """\
Paper-exact Cutout, MixUp, CutMix and label smoothing for albumentations pipelines.

This command renders the demo gallery: the bundled photographs, then four draws
of each transform with the label vector and MixUp/CutMix's mix_lambda under
each picture."""

EPILOG = """\
examples:
  %(prog)s demo                     write ./albu_mix_demo.png, print its path
  %(prog)s demo --out gallery.jpg   write gallery.jpg (the extension picks the format)
  %(prog)s demo --help              the options of the demo command"""

DEMO_DESCRIPTION = """\
Render the gallery of every transform on the bundled photographs and write it
as an image file; prints the absolute path written. The file's extension picks
the format: .png, .jpg, .jpeg, .bmp, .webp, .tif, ... (any that OpenCV can
write). The directory must exist; an existing file is replaced."""


def program_name(argv0: str | None = None) -> str:
    """The name the user typed: ``python -m albu_mix`` for the module, else the script's name."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = Path(argv0).name
    if not name or name in ("__main__.py", "-c", "-m") or name.startswith("python"):
        return "python -m albu_mix"
    if name.lower().endswith(".exe"):  # the console script's launcher on Windows
        name = name[: -len(".exe")]
    return name


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (plain-text help, sub-command ``demo``)."""
    parser = argparse.ArgumentParser(
        prog=prog or program_name(),
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"albu_mix {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="render the demo gallery of every transform to an image file",
        description=DEMO_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--out", metavar="PATH", default=DEFAULT_OUT,
                      help=f"image file to write (default: ./{DEFAULT_OUT})")
    demo.set_defaults(parser=demo)
    return parser


def check_output_path(out: str) -> str | None:
    """Why ``out`` cannot be written as the gallery, or None when it can (nothing is created)."""
    path = Path(out)
    if path.is_dir():
        return f"--out {out!r}: is a directory; give a file name such as {str(path / DEFAULT_OUT)!r}"
    ext = path.suffix
    if not ext:
        return f"--out {out!r}: no file extension; the extension picks the format (e.g. {DEFAULT_OUT})"
    if not can_write_extension(ext):
        supported = ", ".join(writable_extensions())
        return f"--out {out!r}: OpenCV cannot write a colour image as {ext!r}; use one of {supported}"
    folder = path.parent
    if not folder.exists():
        return f"--out {out!r}: the directory {str(folder)!r} does not exist"
    if not folder.is_dir():
        return f"--out {out!r}: {str(folder)!r} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"--out {out!r}: permission denied, cannot write there"
    return None


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command line; returns the exit status (argument errors exit with 2)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    if args.command == "demo":
        problem = check_output_path(args.out)
        if problem is not None:
            args.parser.error(problem)  # usage and message on stderr, exit status 2

        try:
            path = write_gallery(args.out)
        except OSError as error:  # a race, a full disk, a pseudo file system: no traceback either
            reason = error.strerror or str(error)
            args.parser.exit(2, f"{args.parser.prog}: error: --out {args.out!r}: cannot write it ({reason})\n")
        except ValueError as error:
            args.parser.exit(2, f"{args.parser.prog}: error: {error}\n")
        print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
