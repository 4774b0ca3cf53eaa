"""bench/fewstep_step.py: the PyTorch peer of bench/fewstep_step.lua.

One training step of plain CFM, MeanFlow and TVM (with and without the
gradient through the JVP) on 8-gaussian-like data with the same MLP as
fmlua's experiments/few_step.lua (SiLU, 3 x 256, inputs [x, s, t] or [x, t]),
batch 512, Adam. The JVPs use functorch.jvp (torch 1.13 from Debian), whose
outputs torch's reverse mode differentiates (TVM). Prints
`<method>_steps_per_s_{min,median,max} value steps/s` lines.
Run with /usr/bin/python3 (Debian's torch).
"""
import argparse
import copy
import math
import time

import torch
from functorch import jvp


def mlp(inputs, width, depth):
    layers, d = [], inputs
    for _ in range(depth):
        layers += [torch.nn.Linear(d, width), torch.nn.SiLU()]
        d = width
    layers.append(torch.nn.Linear(d, 2))
    return torch.nn.Sequential(*layers)


def gaussians8(n):
    k = torch.randint(0, 8, (n,))
    ang = k.float() * (2 * math.pi / 8)
    c = torch.stack([torch.cos(ang), torch.sin(ang)], 1) * 5
    return c + 0.5 * torch.randn(n, 2)


def ordered_times(n, equal):
    a, b = torch.rand(n, 1), torch.rand(n, 1)
    s, t = torch.minimum(a, b), torch.maximum(a, b)
    same = (torch.rand(n, 1) < equal).float()
    return s * (1 - same) + t * same, t


def make_step(method, width, depth, batch):
    net = mlp(3 if method == "cfm" else 4, width, depth)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    ema_net = copy.deepcopy(net)

    def F(x, s, t):
        return net(torch.cat([x, s, t], 1))

    def step():
        z = gaussians8(batch)
        eps = torch.randn(batch, 2)
        if method == "cfm":
            t = torch.rand(batch, 1)
            x = t * z + (1 - t) * eps
            loss = ((net(torch.cat([x, t], 1)) - (z - eps)) ** 2).sum(1).mean()
        elif method == "meanflow":
            s, t = ordered_times(batch, 0.5)
            x, v = s * z + (1 - s) * eps, z - eps
            u, du = jvp(F, (x, s, t), (v, torch.ones_like(s), torch.zeros_like(t)))
            target = (v + (t - s) * du).detach()
            loss = ((u - target) ** 2).sum(1).mean()
        else:
            s, t = ordered_times(batch, 0.25)
            x = s * z + (1 - s) * eps
            f0, dF = jvp(F, (x, s, t), (torch.zeros_like(x), torch.zeros_like(s),
                                        torch.ones_like(t)))
            if method == "tvm_detach":
                dF = dF.detach()
            landing = (x + (t - s) * f0).detach()
            with torch.no_grad():
                target = ema_net(torch.cat([landing, t, t], 1))
            xt = t * z + (1 - t) * eps
            loss = ((f0 + (t - s) * dF - target) ** 2).sum(1).mean() \
                + ((F(xt, t, t) - (z - eps)) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if method.startswith("tvm"):
            with torch.no_grad():
                for e, p in zip(ema_net.parameters(), net.parameters()):
                    e.mul_(0.99).add_(p, alpha=0.01)
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="cfm,meanflow,tvm,tvm_detach")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target-s", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}")
    for method in a.methods.split(","):
        step = make_step(method, a.width, a.depth, a.batch)
        for _ in range(5):
            step()
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < a.target_s / 2:
            step()
            n += 1
        per = max(3, int(n * 2))
        rates = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(per):
                step()
            rates.append(per / (time.perf_counter() - t0))
        rates.sort()
        for k, v in (("min", rates[0]), ("median", rates[len(rates) // 2]), ("max", rates[-1])):
            print(f"{method}_steps_per_s_{k} {v:.2f} steps/s")


if __name__ == "__main__":
    main()
