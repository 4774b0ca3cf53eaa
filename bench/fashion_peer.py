"""bench/fashion_peer.py: the PyTorch peer of experiments/fashion_mnist.lua.

The same network ("UNet-S", defined by the peer's unet_train.py, imported
from $PEER), data (Debian's Fashion-MNIST), loss (linear path, target
x1 - x0, labels dropped to the null label with probability 0.1), optimiser
(Adam, linear warm-up over 2% of the steps then cosine decay to lr/10,
gradient-norm clip 1, EMA 0.999 of the weights used for sampling) and
sampler (midpoint, 10 steps, classifier-free guidance at w with both labels
in one batch) as fmlua's experiment, so that both are scored on fmlua's
metric (bench/fashion_eval.lua). Writes samples.npy (uint8 (n, 28, 28)) and
labels.npy (int64, classes 1..10 as fmlua numbers them) into --out and
prints `train_s`, `sample_s` lines. Run with /usr/bin/python3.
"""
import argparse
import copy
import gzip
import math
import os
import sys
import time

import numpy as np
import torch

PEER = os.environ.get("PEER") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", "..", "shared", "bench", "peer")
sys.path.insert(0, PEER)
from unet_train import UNetS  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--p-uncond", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--w", type=float, default=2.0)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--ode-steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default="runs/fashion_peer")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    x = torch.from_numpy(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).copy())
    y = torch.from_numpy(idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    x = x.float().div(127.5).sub(1).unsqueeze(1)
    net = UNetS(a.channels, 10)
    ema = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    warm = max(1, a.steps // 50)

    def lr_at(step):  # step from 1, as fm.optim.schedule.cosine
        if step <= warm:
            return step / warm
        p = min(1.0, (step - warm) / max(1, a.steps - warm))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{sum(p.numel() for p in net.parameters())} parameters", flush=True)
    perm, pos = torch.randperm(len(x)), 0
    t0 = time.perf_counter()
    for step in range(1, a.steps + 1):
        if pos + a.batch > len(x):
            perm, pos = torch.randperm(len(x)), 0
        idx_b = perm[pos:pos + a.batch]
        pos += a.batch
        x1, yb = x[idx_b], y[idx_b].clone()
        yb[torch.rand(len(yb)) < a.p_uncond] = 10
        x0 = torch.randn_like(x1)
        t = torch.rand(len(x1))
        tt = t[:, None, None, None]
        loss = ((net(tt * x1 + (1 - tt) * x0, t, yb) - (x1 - x0)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip)
        for g in opt.param_groups:
            g["lr"] = a.lr * lr_at(step)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), net.parameters()):
                e.mul_(a.ema).add_(p, alpha=1 - a.ema)
        if step % max(1, a.steps // 10) == 0:
            el = time.perf_counter() - t0
            print(f"# step {step}/{a.steps} loss {loss.item():.4f} {step / el:.2f} steps/s", flush=True)
    train_s = time.perf_counter() - t0
    # sampling: midpoint, guidance with both labels in one batch
    t0 = time.perf_counter()
    per = a.n // 10
    labels = torch.arange(10).repeat_interleave(per)
    out = []
    with torch.no_grad():
        for lo in range(0, len(labels), a.batch):
            yb = labels[lo:lo + a.batch]
            m = len(yb)
            nulls = torch.full((m,), 10, dtype=torch.long)

            def field(xx, tv):
                tb = torch.full((2 * m,), tv)
                both = ema(torch.cat([xx, xx]), tb, torch.cat([yb, nulls]))
                return (1 - a.w) * both[m:] + a.w * both[:m]
            xx = torch.randn(m, 1, 28, 28)
            h = 1.0 / a.ode_steps
            for k in range(a.ode_steps):
                tv = k * h
                mid = xx + 0.5 * h * field(xx, tv)
                xx = xx + h * field(mid, tv + 0.5 * h)
            out.append(xx.clamp(-1, 1))
    xs = torch.cat(out)
    sample_s = time.perf_counter() - t0
    u8 = ((xs[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    np.save(os.path.join(a.out, "samples.npy"), u8)
    np.save(os.path.join(a.out, "labels.npy"), (labels + 1).numpy().astype(np.int64))
    print(f"train_s {train_s:.1f} s")
    print(f"sample_s {sample_s:.1f} s")


if __name__ == "__main__":
    main()
