"""What the report scripts share: where results go and how a report names its own command.

Imported by ``speed.py`` and ``effect.py`` through their own directory (``benchmarks`` is not a
package).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BENCH_DIR", "DEFAULT_OUT", "REPO_ROOT", "command_line"]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results"


def command_line(script: str, quick: bool, out: Path) -> str:
    """The command as typed from the repository root, without machine paths."""
    parts = [f"python benchmarks/{script}"]
    if quick:
        parts.append("--quick")
    if out.resolve() != DEFAULT_OUT:
        try:
            parts.append(f"--out {out.resolve().relative_to(REPO_ROOT)}")
        except ValueError:
            parts.append(f"--out …/{out.name}")
    return " ".join(parts)
