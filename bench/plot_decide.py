#!/usr/bin/env python3
"""Plots p50 latency per decision against rule count from bench/results/decide.json.

    python3 bench/plot_decide.py [results/decide.json] [results/decide.svg]

No dependencies: the SVG is written by hand. Both axes are logarithmic.
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "decide.json")
TARGET = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "results", "decide.svg")

SERIES = [
    ("purposed", "purposed CompiledPolicy::decide", "#1b7837"),
    ("cedar_entity_data", "Cedar, rules as entity data (1 policy)", "#2166ac"),
    ("cedar_policy_per_rule", "Cedar, one policy per rule", "#b2182b"),
]

WIDTH, HEIGHT = 720, 460
LEFT, RIGHT, TOP, BOTTOM = 80, 250, 50, 60


def main():
    with open(SOURCE) as f:
        report = json.load(f)
    sizes = [entry["rules"] for entry in report["sizes"]]
    values = {
        key: [entry["results"][key]["p50_ns"] for entry in report["sizes"]] for key, _, _ in SERIES
    }
    every = [v for series in values.values() for v in series if v > 0]
    y_lo = 10 ** math.floor(math.log10(min(every)))
    y_hi = 10 ** math.ceil(math.log10(max(every)))
    x_lo, x_hi = math.log10(min(sizes)), math.log10(max(sizes))
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(size):
        return LEFT + (math.log10(size) - x_lo) / (x_hi - x_lo) * plot_w

    def y(ns):
        return TOP + (1 - (math.log10(ns) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo))) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="28" font-size="15" font-weight="bold">'
        "p50 latency per decision against rule count (log scales)</text>",
    ]
    # Grid and axes.
    decade = y_lo
    while decade <= y_hi * 1.0001:
        yy = y(decade)
        out.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end">{label_ns(decade)}</text>')
        decade *= 10
    for size in sizes:
        xx = x(size)
        out.append(f'<line x1="{xx:.1f}" y1="{TOP}" x2="{xx:.1f}" y2="{TOP + plot_h}" stroke="#eee"/>')
        out.append(f'<text x="{xx:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{size:,}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 15}" text-anchor="middle">rules</text>')
    out.append(
        f'<text x="18" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 18 {TOP + plot_h / 2:.1f})">p50 per decision</text>'
    )
    # Series.
    for index, (key, label, colour) in enumerate(SERIES):
        points = [(x(s), y(v)) for s, v in zip(sizes, values[key]) if v > 0]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (px, py), v in zip(points, values[key]):
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{colour}"/>')
            out.append(
                f'<text x="{px + 6:.1f}" y="{py - 7:.1f}" fill="{colour}" font-size="11">{label_ns(v)}</text>'
            )
        ly = TOP + 10 + index * 22
        lx = LEFT + plot_w + 16
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">{label}</text>')
    machine = report.get("machine", {})
    versions = report.get("versions", {})
    note = f'{machine.get("cpu_model", "?")}, {machine.get("nproc", "?")} CPUs; cedar-policy {versions.get("cedar-policy", "?")}'
    out.append(f'<text x="{LEFT + plot_w + 16}" y="{TOP + 90}" font-size="10" fill="#555">{note}</text>')
    out.append("</svg>")
    with open(TARGET, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {TARGET}")


def label_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:g} µs"
    return f"{ns:g} ns"


if __name__ == "__main__":
    main()
