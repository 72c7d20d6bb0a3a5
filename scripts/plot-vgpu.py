#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Plot vgpu-unmap's unmap latency distributions from its --json output.

    scripts/plot-vgpu.py -o docs/img/vgpu-unmap-latency.png \\
        docs/img/vgpu-unmap-kick.json docs/img/vgpu-unmap-no-kick.json

Each run of each file becomes one curve: the fraction of unmaps that
completed within a given time (an empirical CDF, log time axis), labelled
by whether the vCPUs had force_rcu notifiers (--no-kick) and whether the
device called force_rcu() at the unmap.  docs/vgpu-unmap.md shows the
commands that produce the JSON files.
"""
import argparse
import json
import sys

try:
    import matplotlib
except ImportError:
    sys.exit("plot-vgpu.py: needs matplotlib (Debian: python3-matplotlib, "
             "for /usr/bin/python3)")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def label(cfg, run):
    who = ("vCPUs with force_rcu notifiers" if cfg["kick"]
           else "no notifiers (--no-kick), sections of %d ms"
           % cfg["section_ms"])
    if run.get("force_on_unmap"):
        who += ", force_rcu() at the unmap"
    p50 = run["latency_ms"]["p50"]
    return "%s: p50 %.1f ms (%d unmaps)" % (who, p50, run["unmaps"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="vgpu-unmap --json outputs")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--title", default="vgpu-unmap: unmap latency")
    args = ap.parse_args()

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    lo, hi = float("inf"), 0.0
    for path in args.json:
        with open(path) as f:
            data = json.load(f)
        for run in data["runs"]:
            lat = sorted(run["latencies_ms"])
            if not lat:
                continue
            lo, hi = min(lo, lat[0]), max(hi, lat[-1])
            frac = [(i + 1) / len(lat) for i in range(len(lat))]
            ax.step(lat, frac, where="post", label=label(data["config"], run))
    ax.set_xscale("log")
    # Plain millisecond labels: 1-2-5 steps across the data's range.
    ticks = [m * 10 ** e for e in range(-1, 6) for m in (1, 2, 5)]
    ax.set_xticks([t for t in ticks if lo / 2 <= t <= hi * 2])
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("unmap latency (ms, log scale)")
    ax.set_ylabel("fraction of unmaps completed")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(args.title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(args.output)


if __name__ == "__main__":
    main()
