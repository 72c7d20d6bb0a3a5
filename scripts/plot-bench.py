#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
"""Plot growth-bench's JSON (tests/bench/growth-bench.c) as PNG files.

    scripts/plot-bench.py [--out DIR] GROWTH_JSON...

One JSON file per implementation (tests/bench/anchors.sh --growth writes
growth-qemu-rcu.json, growth-qemu-10.0.json, growth-qemu-10.2.json).
Writes DIR/growth-sync.png (synchronize_rcu() latency against the number
of registered threads) and DIR/growth-call-rcu.png (call_rcu() cost
against the number of producers).  DIR defaults to docs/img.
Oversubscribed points (more runnable threads than CPUs) are drawn
hollow.  Uses Debian's python3-matplotlib.
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MARKERS = "osd^v<>"


def caption(runs):
    m = runs[0].get("machine", {})
    loads = []
    for r in runs:
        load = r.get("machine", {}).get("load_before") or []
        if load:
            loads.append(load[0])
    load_s = (f"load average {min(loads):.1f}-{max(loads):.1f}"
              if loads else "load unknown")
    return f"{m.get('cpus', '?')} CPUs, {load_s}"


def plot_points(ax, xs, ys, over, label, marker, style="-"):
    line, = ax.plot(xs, ys, marker=marker, linestyle=style, label=label)
    hollow = [(x, y) for x, y, o in zip(xs, ys, over) if o]
    if hollow:
        ax.plot([p[0] for p in hollow], [p[1] for p in hollow],
                linestyle="none", marker=marker, markersize=10,
                markerfacecolor="white", color=line.get_color())


def plot_sync(runs, out):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, kick in zip(axes, (False, True)):
        k = 0
        for run in runs:
            name = run.get("implementation", "?")
            rows = run["synchronize_rcu"]
            states = []
            for r in rows:
                if r["state"] not in states:
                    states.append(r["state"])
            for state in states:
                if (state == "kickable-reader") != kick:
                    continue
                sel = [r for r in rows if r["state"] == state]
                xs = [r["threads"] for r in sel]
                over = [r["oversubscribed"] for r in sel]
                plot_points(ax, xs, [r["median_us"] for r in sel], over,
                            f"{name} {state}, median", MARKERS[k % 7])
                if not kick:
                    plot_points(ax, xs, [r["p99_us"] for r in sel], over,
                                f"{name} {state}, p99", MARKERS[k % 7],
                                ":")
                k += 1
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("registered threads N")
        ax.set_ylabel("synchronize_rcu() latency, µs")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_title("idle (online) and offline threads", fontsize=10)
    axes[1].set_title("one of them in a long kickable critical section",
                      fontsize=10)
    fig.suptitle("grace period against thread count (" + caption(runs) + ")",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "growth-sync.png"), dpi=90)
    plt.close(fig)


def plot_call_rcu(runs, out):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for k, run in enumerate(runs):
        name = run.get("implementation", "?")
        rows = run["call_rcu"]
        xs = [r["producers"] for r in rows]
        over = [r["oversubscribed"] for r in rows]
        plot_points(axes[0], xs, [r["enqueue_ns"] for r in rows], over,
                    name, MARKERS[k % 7])
        plot_points(axes[1], xs, [r["all_ran_ms"] for r in rows], over,
                    name, MARKERS[k % 7])
    axes[0].set_ylabel("enqueue, ns per call_rcu()")
    n = runs[0]["call_rcu"][0]["callbacks"]
    axes[1].set_ylabel(f"{n} callbacks until all ran, ms")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("producers P (hollow: oversubscribed)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("call_rcu() against producer count (" + caption(runs) + ")",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "growth-call-rcu.png"), dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="growth-bench --json output")
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "docs", "img"))
    args = ap.parse_args()
    runs = []
    for path in args.json:
        with open(path) as f:
            runs.append(json.load(f))
    os.makedirs(args.out, exist_ok=True)
    plot_sync(runs, args.out)
    plot_call_rcu(runs, args.out)
    print(f"wrote {args.out}/growth-sync.png and "
          f"{args.out}/growth-call-rcu.png")


if __name__ == "__main__":
    main()
