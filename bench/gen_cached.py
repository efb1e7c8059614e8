#!/usr/bin/python3
"""Writes the graph of bench/cache.sh for sluice and ninja: N stages, each reading its
own FILES/N input files (in/NNNN/fK.txt) and writing out/NNNN.txt, independent (wide).
sluice.yml declares them as `inputs:` and `outputs:`; build.ninja as a build edge's
inputs and output. Same work, same files, for both tools."""
import argparse
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.n <= 0 or a.files % a.n != 0:
        ap.error("--files must be a multiple of --n")
    per = a.files // a.n
    os.makedirs(os.path.join(a.out, "out"), exist_ok=True)
    yml = ["name: cached-bench", "stages:"]
    ninja = ["rule cat", "  command = cat $in > $out", ""]
    for i in range(a.n):
        d = os.path.join(a.out, "in", "%04d" % i)
        os.makedirs(d, exist_ok=True)
        inputs = []
        for k in range(per):
            p = os.path.join(d, "f%d.txt" % k)
            with open(p, "w") as f:
                f.write("stage %d file %d\n" % (i, k))
            inputs.append("in/%04d/f%d.txt" % (i, k))
        yml += ["  t%04d:" % i,
                "    run: cat in/%04d/* > out/%04d.txt" % (i, i),
                "    inputs: [\"in/%04d/*\"]" % i,
                "    outputs: [out/%04d.txt]" % i]
        ninja.append("build out/%04d.txt: cat %s" % (i, " ".join(inputs)))
    with open(os.path.join(a.out, "sluice.yml"), "w") as f:
        f.write("\n".join(yml) + "\n")
    with open(os.path.join(a.out, "build.ninja"), "w") as f:
        f.write("\n".join(ninja) + "\n")


if __name__ == "__main__":
    main()
