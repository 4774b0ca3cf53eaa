"""NumPy counterpart of bench/elementwise_c.c: ns/element, float32, 1M elements,
best of 30, a fresh output array per op. Run with /usr/bin/python3."""
import time
import numpy as np

N = 1 << 20
x = (np.arange(N) % 1000 / 1000).astype(np.float32)


def best(f, reps=30):
    b = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b * 1e9 / N


cases = [("x+x", lambda: x + x), ("x*2", lambda: x * np.float32(2)),
         ("exp", lambda: np.exp(x)), ("log", lambda: np.log(x)),
         ("tanh", lambda: np.tanh(x)),
         ("sigmoid", lambda: 1 / (1 + np.exp(-x))),
         ("sin", lambda: np.sin(x)), ("sqrt", lambda: np.sqrt(x))]
for name, f in cases:
    print(f"{name:8s} {best(f):6.3f} ns/element")
print(f"chain    {best(lambda: np.sqrt(np.exp(x * np.float32(2) + np.float32(1)) - x)):6.3f}"
      " ns/element (sqrt(exp(x*2+1)-x), 5 ops)")
m = x.reshape(4096, 256)
row = np.full(256, 0.5, np.float32)
col = np.full((4096, 1), 0.25, np.float32)
out = np.empty_like(m)
for name, f in [("(n,d)+(d,)", lambda: m + row),
                ("(n,d)*(n,1)", lambda: np.multiply(m, col, out=out)),
                ("sum rows", lambda: m.sum(axis=0)),
                ("sum_to (d,)", lambda: m.sum(axis=0, dtype=np.float64))]:
    print(f"{name:12s} {best(f):6.3f} ns/element (n=4096, d=256)")
print("numpy", np.__version__)
