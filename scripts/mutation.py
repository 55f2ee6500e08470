"""Mutation testing of the pure domain: run mutmut, then print the score of each module.

    uv run scripts/mutation.py                 # a full run from scratch, then the scores
    uv run scripts/mutation.py --keep          # reuse what mutmut already knows (mutants/)
    uv run scripts/mutation.py --report        # only print the scores of the last run
    uv run scripts/mutation.py --survivors     # ... and list the mutants that survived

What is mutated, and by which tests, is configured in pyproject.toml under ``[tool.mutmut]``:
the rules engine and its wording, ledger arithmetic, tiers and identifier normalisation, driven
by the unit and property tests that need no database. A module's score is the share of its
mutants that some test kills (a mutant no test reaches counts as surviving). The run fails when
a module scores under ``--fail-under`` (90% by default).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"

# mutmut's exit codes (mutmut.stats.status_by_exit_code), as counted here
KILLED = {1, 3, 36, 24, -24, 152, 255}  # a test failed, pytest broke, or the mutant hung
NOT_TESTED = {None, 2}
SKIPPED = {34, 37}


@dataclass
class Score:
    module: str
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    not_tested: int = 0

    @property
    def total(self) -> int:
        return self.killed + len(self.survived)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def module_name(meta: Path) -> str:
    return str(meta.relative_to(MUTANTS)).removesuffix(".meta")


def scores() -> list[Score]:
    out: list[Score] = []
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        score = Score(module_name(meta))
        for mutant, code in sorted(data["exit_code_by_key"].items()):
            if code in KILLED:
                score.killed += 1
            elif code in NOT_TESTED:
                score.not_tested += 1
            elif code not in SKIPPED:
                score.survived.append(mutant)  # survived (0), reached by no test (5, 33), ...
        if score.total or score.not_tested:
            out.append(score)
    return out


def report(results: list[Score], *, survivors: bool) -> None:
    width = max((len(s.module) for s in results), default=10)
    print(f"\n{'module':<{width}}  {'mutants':>7}  {'killed':>6}  {'survived':>8}  {'score':>6}")
    for s in results:
        line = f"{s.module:<{width}}  {s.total:>7}  {s.killed:>6}  {len(s.survived):>8}  {s.percent:>5.1f}%"
        print(line + (f"  ({s.not_tested} not checked yet)" if s.not_tested else ""))
    killed = sum(s.killed for s in results)
    total = sum(s.total for s in results)
    overall = 100.0 * killed / total if total else 100.0
    print(f"{'all':<{width}}  {total:>7}  {killed:>6}  {total - killed:>8}  {overall:>5.1f}%")
    if survivors:
        for s in results:
            for mutant in s.survived:
                print(f"  survived: {mutant}   (uv run mutmut show {mutant})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="reuse the results in mutants/")
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--fail-under", type=float, default=90.0, metavar="PERCENT")
    parser.add_argument("--max-children", type=int, default=None)
    args = parser.parse_args()

    started = time.monotonic()
    if not args.report:
        if not args.keep and MUTANTS.exists():
            shutil.rmtree(MUTANTS)
        command = [sys.executable, "-m", "mutmut", "run"]
        if args.max_children:
            command += ["--max-children", str(args.max_children)]
        done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            return done.returncode
    if not MUTANTS.exists():
        print("No mutation results yet: run without --report first.", file=sys.stderr)
        return 2
    results = scores()
    report(results, survivors=args.survivors)
    if not args.report:
        print(f"\nran in {time.monotonic() - started:.0f} s")
    below = [s.module for s in results if s.percent < args.fail_under]
    if any(s.not_tested for s in results):
        print("some mutants were not checked: the run was interrupted", file=sys.stderr)
        return 1
    if below:
        print(f"under {args.fail_under:.0f}%: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
