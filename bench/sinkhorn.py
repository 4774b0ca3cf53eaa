# bench/sinkhorn.py — the POT peer of bench/sinkhorn.lua: ot.sinkhorn
# (Sinkhorn-Knopp on scalings) and ot.bregman.sinkhorn_log on the same
# points, 100 iterations (stopThr = 0). Usage: python3 sinkhorn.py dir.
import sys, time
import numpy as np, ot

D = sys.argv[1]
for n in (256, 512, 1024):
    x, y = np.load(f"{D}/x{n}.npy"), np.load(f"{D}/y{n}.npy")
    a = np.full(n, 1.0 / n)
    for name, f in (("pot_sinkhorn", ot.sinkhorn), ("pot_sinkhorn_log", ot.bregman.sinkhorn_log)):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            M = ot.dist(x, y)  # the cost is part of the work, as in fm.ot.sinkhorn
            P = f(a, a, M, 0.5, numItermax=100, stopThr=0.0, warn=False)
            best = min(best, time.perf_counter() - t0)
        print(f"{name}_{n} {best:.6f} s")
        print(f"{name}_{n}_cost {(P * M).sum():.12g} 1")
