"""`make fuzz`: each pure parser fuzzed with atheris for a bounded time (tests/fuzz/targets.py).

    python -m tests.fuzz.run [--seconds 60] [TARGET ...]

Every target runs in its own process, coverage-guided from seeds made of valid inputs (golden
Avro examples, real handshakes and links). An input that breaks a check is kept under
tests/fuzz/regressions/<target>/, where `make test` replays it for good; the exit code is 1 when
any target found one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def fuzz_one(name: str, seconds: int, corpus: Path) -> None:
    """Runs in the target's own process: atheris exits it (with the crash kept) on a finding."""
    import atheris

    with atheris.instrument_imports(include=["stenograph"]):
        from tests.fuzz.targets import REGRESSIONS, TARGETS
    target = TARGETS[name]
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(target.seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    kept = REGRESSIONS / name
    kept.mkdir(parents=True, exist_ok=True)
    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={seconds}", "-rss_limit_mb=4096",
                   f"-artifact_prefix={kept}/", "-print_final_stats=1"], target.check)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("targets", nargs="*", metavar="TARGET", help="which (all by default)")
    ap.add_argument("--seconds", type=int, default=60, help="per target")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # the targets' modules are imported under atheris's instrumentation only
        fuzz_one(args.one, args.seconds, args.corpus)
        return 0
    from tests.fuzz.targets import TARGETS

    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        print(f"error: unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}",
              file=sys.stderr)
        return 2
    found = []
    with tempfile.TemporaryDirectory(prefix="stenograph-fuzz-") as tmp:
        for name in args.targets or list(TARGETS):
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "tests.fuzz.run", "--one", name, "--seconds", str(args.seconds),
                 "--corpus", str(Path(tmp) / name)], capture_output=True, text=True, check=False)
            stats = [line for line in proc.stderr.splitlines()
                     if line.startswith("stat::number_of_executed_units")]
            runs = stats[-1].split(":")[-1].strip() if stats else "?"
            verdict = "ok" if proc.returncode == 0 else f"FOUND (exit {proc.returncode})"
            print(f"{name:14} {verdict:18} {runs:>10} inputs in {time.monotonic() - started:5.0f} s",
                  flush=True)
            if proc.returncode != 0:
                found.append(name)
                print("\n".join(proc.stderr.splitlines()[-40:]), file=sys.stderr)
    if found:
        print(f"kept the failing inputs under tests/fuzz/regressions/ ({', '.join(found)})", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
