"""Scenario: place 1,000,000 keys on 10 nodes with 160 points each (ketama's default), and compare.

Times HashRing.assign against uhashring's get_node per key, in the same run, and against the bare floor
(hashing every key with mmh3 plus one np.searchsorted). Prints the ratios the issue asks about:
at least 10x faster than uhashring, within 1.5x of the floor.
"""

import time

import mmh3
import numpy as np
from uhashring import HashRing as UHashRing

from sdcore.hashing import HashRing, make_keys

N_KEYS, N_NODES, VNODES = 1_000_000, 10, 160


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    keys = make_keys(N_KEYS, seed=0)
    names = [f"node{i}" for i in range(N_NODES)]
    ring = HashRing(names, vnodes=VNODES)
    ring.ring_points()  # build the sorted ring once, as a page would have it
    points = ring.ring_points().positions

    def floor():
        h = mmh3.hash
        hashes = np.fromiter((h(k, 0, False) for k in keys), dtype=np.uint32, count=len(keys))
        np.searchsorted(points, hashes)

    ours = best_of(lambda: ring.assign(keys))
    bare = best_of(floor)
    uh = UHashRing(nodes={n: {"vnodes": VNODES} for n in names})
    sample = keys[:100_000]  # uhashring is slow; time a tenth and scale
    theirs = best_of(lambda: [uh.get_node(k) for k in sample], repeat=1) * (N_KEYS / len(sample))
    print(f"HashRing.assign      {N_KEYS:,} keys: {ours:.3f} s  ({N_KEYS / ours / 1e6:.2f} M keys/s)")
    print(f"mmh3 + searchsorted  floor:       {bare:.3f} s")
    print(f"uhashring get_node   (scaled):    {theirs:.3f} s")
    print(f"speed-up over uhashring: {theirs / ours:.1f}x (aim >= 10x)")
    print(f"cost over the floor:     {ours / bare:.2f}x (aim <= 1.5x)")

    t = time.perf_counter()
    ring.add_node("node_new")
    ring.assign(keys)
    print(f"add a node and re-place {N_KEYS:,} keys: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
