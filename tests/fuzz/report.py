"""Fuzz ``vppsim validate`` and print counts by kind of fault (for issue 10's closing note).

Usage (from the repository root)::

    .venv/bin/python tests/fuzz/report.py                 # 1,000 cases
    .venv/bin/python tests/fuzz/report.py --n 5000 --run-sample 30

Columns: files, exit 0, exit 2, other exits, tracebacks (an exception left
``main`` or "Traceback" on stderr), hangs (> 10 s, stopped), slow (> 2 s),
invalid accepted (a case invalid by construction exited 0), valid rejected,
and the slowest validate (CPU seconds; hangs are wall time). ``--run-sample K`` then runs ``vppsim run --steps 2
--no-write`` on K accepted cases and counts crashes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import HANG_S, MAX_VALIDATE_S, Outcome, call_cli, validate_case  # noqa: E402
from mutators import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="number of cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-sample", type=int, default=0, help="run --steps 2 on this many accepted cases")
    ap.add_argument("--show", type=int, default=3, help="examples of problems printed per kind")
    args = ap.parse_args(argv)

    call_cli(["validate", "two_ac"], limit_s=120)  # warm imports: not part of any case's time
    rows: dict[str, Counter] = defaultdict(Counter)
    slowest: dict[str, float] = defaultdict(float)
    examples: dict[str, list[str]] = defaultdict(list)
    accepted: list[tuple[Path, str]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vppsim-fuzz-") as tmp:
        folder = Path(tmp)
        for i, case in enumerate(generate(args.n, seed=args.seed)):
            o: Outcome = validate_case(case, folder, i)
            r = rows[case.kind]
            r["files"] += 1
            r[f"exit {o.exit_code}" if o.exit_code in (0, 2) else "other exit"] += 1
            r["tracebacks"] += o.traceback
            r["hangs"] += o.hang
            r["slow"] += (not o.hang) and o.seconds > MAX_VALIDATE_S
            r["invalid accepted"] += o.exit_code == 0 and case.must_reject is True
            r["valid rejected"] += o.exit_code == 2 and case.must_reject is False
            slowest[case.kind] = max(slowest[case.kind], o.seconds)
            if o.problems and len(examples[case.kind]) < args.show:
                examples[case.kind].append(f"{case.base} ({case.note}): {'; '.join(o.problems)}"[:300])
            if o.exit_code == 0:
                accepted.append((folder / f"case_{i:05d}_{case.kind}.yaml", case.kind))
        wall = time.perf_counter() - t0

        cols = ["files", "exit 0", "exit 2", "other exit", "tracebacks", "hangs", "slow", "invalid accepted",
                "valid rejected"]
        print(f"vppsim validate fuzz: {args.n} cases, seed {args.seed}, "
              f"{wall:.1f} s wall (hang = stopped at {HANG_S:g} s wall, slow = > {MAX_VALIDATE_S:g} s CPU)\n")
        w = {c: max(len(c) + 2, 8) for c in cols}
        head = f"{'kind':18s}" + "".join(f"{c:>{w[c]}s}" for c in cols) + f"{'max cpu s':>11s}"
        print(head)
        print("-" * len(head))
        total: Counter = Counter()
        for kind in sorted(rows):
            total.update(rows[kind])
            print(f"{kind:18s}" + "".join(f"{rows[kind][c]:>{w[c]}d}" for c in cols) + f"{slowest[kind]:>11.2f}")
        print("-" * len(head))
        print(f"{'total':18s}" + "".join(f"{total[c]:>{w[c]}d}" for c in cols) + f"{max(slowest.values()):>11.2f}")
        if any(examples.values()):
            print("\nexamples of problems:")
            for kind in sorted(examples):
                for e in examples[kind]:
                    print(f"  {kind}: {e}")

        if args.run_sample and accepted:
            sample = random.Random(args.seed).sample(accepted, min(args.run_sample, len(accepted)))
            crashes = Counter()
            print(f"\nvppsim run --steps 2 --no-write on {len(sample)} accepted cases:")
            for path, kind in sample:
                code, _, err, escaped, hang, secs = call_cli(
                    ["run", str(path), "--steps", "2", "--no-write", "--quiet", "--no-plots"], limit_s=300
                )
                ok = code == 0 and not escaped and not hang and "Traceback" not in err
                crashes["ok" if ok else "crash"] += 1
                if not ok:
                    why = escaped or ("hang" if hang else err.strip().splitlines()[-1] if err.strip() else f"exit {code}")
                    print(f"  {kind:18s} {path.name}: {why[:200]}")
            print(f"  completed {crashes['ok']}, crashed {crashes['crash']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
