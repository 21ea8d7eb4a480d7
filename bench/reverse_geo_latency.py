"""Reverse geocoding of a shared Telegram location: the time of one lookup.

Target (a timed assertion in tests/test_reverse_geo.py once; timings live here): after
``warm_up()`` and one lookup of each point (which decodes the polygons it touches), the median
lookup takes under 5 ms. Also printed: the warm-up (loading the boundary data and indexes, done
once per process at the channel's start) and the first lookups.

The points are the test's: well-known places inside districts, near district borders, and at
sea or abroad.

    .venv/bin/python bench/reverse_geo_latency.py [--rounds 5]

Exits 1 when the median misses the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nlu import reverse_geo  # noqa: E402
from tests.test_reverse_geo import INSIDE, NEAR_BORDER, OUTSIDE  # noqa: E402

TARGET_MEDIAN = 0.005  # seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed lookups of every point")
    args = parser.parse_args()
    points = [(lat, lon) for _, lat, lon, _ in INSIDE + NEAR_BORDER] + [(lat, lon) for _, lat, lon in OUTSIDE]

    started = time.perf_counter()
    reverse_geo.warm_up()
    warm_up = time.perf_counter() - started
    first = []
    for lat, lon in points:  # decodes the touched polygons
        started = time.perf_counter()
        reverse_geo.reverse_geocode(lat, lon)
        first.append(time.perf_counter() - started)
    timings = []
    for _ in range(args.rounds):
        for lat, lon in points:
            started = time.perf_counter()
            reverse_geo.reverse_geocode(lat, lon)
            timings.append(time.perf_counter() - started)

    median = statistics.median(timings)
    print(f"warm-up {warm_up:.2f} s; first lookups: median {statistics.median(first) * 1000:.1f} ms, "
          f"slowest {max(first) * 1000:.1f} ms ({len(points)} points)")
    print(f"after warm-up ({len(timings)} lookups): median {median * 1000:.2f} ms, "
          f"p95 {percentile(timings, 0.95) * 1000:.2f} ms, slowest {max(timings) * 1000:.2f} ms; "
          f"target median < {TARGET_MEDIAN * 1000:g} ms: {'met' if median < TARGET_MEDIAN else 'MISSED'}")
    return 0 if median < TARGET_MEDIAN else 1


if __name__ == "__main__":
    sys.exit(main())
