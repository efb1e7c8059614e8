#!/usr/bin/python3
"""Write the same N no-op tasks for sluice, ninja and make.

    /usr/bin/python3 bench/gen_tasks.py --n 1000 --shape wide --out DIR

Writes DIR/sluice.yml, DIR/build.ninja and DIR/Makefile. Tasks are named
t0000, t0001, ... and every task runs the command `true`.

  wide:  the N tasks are independent.
  chain: task i needs task i-1.

ninja and make need a target name per task: each task declares an output
named after it that `true` never creates, so both tools consider every task
out of date and run all N on every invocation (a cold run each time, which
is what sluice does for stages without inputs/outputs).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def names(n: int) -> list[str]:
    width = max(4, len(str(n - 1)))
    return [f"t{i:0{width}d}" for i in range(n)]


def sluice_yml(tasks: list[str], shape: str, cmd: str) -> str:
    out = [f"name: bench-{shape}-{len(tasks)}", "stages:"]
    for i, t in enumerate(tasks):
        out.append(f"  {t}:")
        out.append(f"    run: \"{cmd}\"")
        if shape == "chain" and i > 0:
            out.append(f"    needs: [{tasks[i - 1]}]")
    return "\n".join(out) + "\n"


def build_ninja(tasks: list[str], shape: str, cmd: str) -> str:
    out = ["ninja_required_version = 1.5", "", "rule run", f"  command = {cmd}", ""]
    for i, t in enumerate(tasks):
        dep = f" {tasks[i - 1]}" if shape == "chain" and i > 0 else ""
        out.append(f"build {t}: run{dep}")
    # Every task is a default target (in a chain only the last is a root, but
    # listing all keeps the two shapes alike).
    out += ["", "default " + " ".join(tasks)]
    return "\n".join(out) + "\n"


def makefile(tasks: list[str], shape: str, cmd: str) -> str:
    out = [".PHONY: all " + " ".join(tasks), "", "all: " + " ".join(tasks), ""]
    for i, t in enumerate(tasks):
        dep = f" {tasks[i - 1]}" if shape == "chain" and i > 0 else ""
        out.append(f"{t}:{dep}")
        out.append(f"\t@{cmd}")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate N no-op tasks for sluice, ninja and make.")
    ap.add_argument("--n", type=int, required=True, help="number of tasks (>= 1)")
    ap.add_argument("--shape", choices=["wide", "chain"], required=True)
    ap.add_argument("--out", required=True, help="directory to write into (created)")
    ap.add_argument("--cmd", default="true", help="the command every task runs (default: true)")
    args = ap.parse_args()
    if args.n < 1:
        ap.error("--n must be at least 1")
    tasks = names(args.n)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sluice.yml").write_text(sluice_yml(tasks, args.shape, args.cmd))
    (out / "build.ninja").write_text(build_ninja(tasks, args.shape, args.cmd))
    (out / "Makefile").write_text(makefile(tasks, args.shape, args.cmd))


if __name__ == "__main__":
    main()
