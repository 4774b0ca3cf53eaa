#!/usr/bin/python3
"""NumPy and PyTorch side of bench/tensor_ops.lua: the same chain of five
elementwise ops on 1M float32 elements, y = sqrt(exp(x * 2 + 1) - x)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "shared", "bench", "peer"))
from common import emit_stats, rate_for  # noqa: E402

import numpy as np  # noqa: E402

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
target = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
x = np.random.default_rng(0).standard_normal(1000000, dtype=np.float32)
fn = lambda: np.sqrt(np.exp(x * 2 + 1) - x)  # noqa: E731
for _ in range(3):
    fn()
emit_stats("elementwise5_numpy_1M", [1e3 / rate_for(fn, target) for _ in range(repeats)], "ms")

import torch  # noqa: E402
torch.set_num_threads(2)
tx = torch.from_numpy(x)
fn = lambda: torch.sqrt(torch.exp(tx * 2 + 1) - tx)  # noqa: E731
for _ in range(3):
    fn()
emit_stats("elementwise5_torch_1M", [1e3 / rate_for(fn, target) for _ in range(repeats)], "ms")
