"""How long `overdue simulate` takes over a scenario, on each broker.

    python bench/simulate.py [SCENARIO.yaml] [--runs 3] [--brokers memory kafka]

Issue #6 asks `make demo` to finish in under 10 minutes on 2 cores, most of
it the first download; the simulation of `examples/demo/` is its main job.
Each run is `overdue simulate` as a user starts it, a process of its own,
timed from start to exit. The baseline, measured in the same run, is the
same command on the same creditor and policy with no debtors and no events:
what starting Python, the three services' databases and the letter press
costs before any work. What is left over is the scenario's own work, given
per simulated day and per timeline line.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OVERDUE = Path(sys.executable).with_name("overdue")
DEMO = ROOT / "examples" / "demo" / "scenario.yaml"


def empty_twin(scenario: Path, folder: Path) -> Path:
    """The scenario with its creditor and policy, and nothing else."""
    data = yaml.safe_load(scenario.read_text())
    data["debtors"], data["events"] = [], []
    policy = data.get("policy")
    if isinstance(policy, str):
        data["policy"] = str((scenario.parent / policy).resolve())
    twin = folder / "empty.yaml"
    twin.write_text(yaml.safe_dump(data, allow_unicode=True))
    return twin


def one_run(scenario: Path, broker: str, folder: Path) -> tuple[float, int]:
    """Seconds from start to exit, and the timeline's lines."""
    out = folder / "timeline.jsonl"
    command = [str(OVERDUE), "simulate", str(scenario), "--out", str(out)]
    command += ["--broker", broker, "--artifacts", str(folder / "artifacts"), "-q"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    took = time.perf_counter() - started
    return took, len(out.read_text().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEMO)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--brokers", nargs="+", default=["memory", "kafka"])
    args = parser.parse_args()

    days = yaml.safe_load(args.scenario.read_text())["days"]
    print(f"scenario: {args.scenario} ({days} days), {args.runs} runs each")
    print(
        f"{'broker':8} {'baseline s':>11} {'scenario s':>11} {'work s':>8} "
        f"{'ms/day':>7} {'ms/line':>8} {'lines':>6}"
    )
    for broker in args.brokers:
        baseline, full, lines = [], [], 0
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as scratch:
                folder = Path(scratch)
                twin = empty_twin(args.scenario, folder)
                baseline.append(one_run(twin, broker, folder / "empty")[0])
                took, lines = one_run(args.scenario, broker, folder / "full")
                full.append(took)
        base, whole = statistics.median(baseline), statistics.median(full)
        work = whole - base
        print(
            f"{broker:8} {base:11.1f} {whole:11.1f} {work:8.1f} "
            f"{1000 * work / days:7.0f} {1000 * work / max(lines, 1):8.1f} {lines:6d}"
        )
        print(f"{'':8} runs: " + ", ".join(f"{t:.1f}" for t in full))


if __name__ == "__main__":
    main()
