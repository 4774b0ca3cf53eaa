#!/usr/bin/python3
"""tests/cli/unet_parity.py FMLUA LUA_SCRIPT DIR — fm.nn.unet against PyTorch.

Run by tests/cli/unet_parity.sh (which writes LUA_SCRIPT and skips the test when
/usr/bin/python3 has no torch). Builds the PyTorch "UNet-S" below, exports its
weights to DIR/weights.safetensors under fmlua's names (Linear weights
transposed to fmlua's (in, out), labels shifted by one), runs fmlua on the same
inputs and compares, against a float64 run of the same torch network:
  - the parameter names, shapes and count (fmlua's named_parameters);
  - the no-grad forward output;
  - fm.jvp's output and tangent against torch.autograd.forward_ad, along
    (dx, dt) = (v, 1);
  - the loss and the gradient of every parameter of one training step (linear
    path, same x0, t and labels, no label dropping), after backward;
  - the parameters after one Adam step (lr 2e-4);
  - fm.save's file: the names and the values after the step.

Tolerances (float32 against the float64 reference). Both sides compute in
float32, so neither can match the other better than each matches the exact
result; the float64 run stands in for the exact result, and torch float32's own
distance to it is printed beside fmlua's on every line as the yardstick. The
bounds are 4 to 40 x what torch float32 itself achieves here (its relative
errors: 2.6e-6 for the output, 2.2e-5 for the JVP tangent, at most 4.4e-5 for
a gradient tensor, out_c.bias), so they catch a wrong formula (a transposed
square weight such as t1's at C = 16, a missing term, a wrong GroupNorm
grouping or softmax scale: errors of order 1e-3 to 1 of the scale) but not
the rounding of a different summation order:
  - outputs, JVP output: max |fmlua - exact| <= 1e-4 max |exact|;
  - JVP tangent: 1e-4 max |exact|, the tightest margin (4.5 x torch's
    2.2e-5): the time direction runs through sin(1000 t f) and its derivative
    1000 f cos(1000 t f), whose float32 argument carries an absolute error of
    up to ~3e-5 (half an ulp of 1000) at t ~ 1, whoever computes it;
  - loss: relative error <= 1e-5;
  - gradients, per tensor: max |fmlua - exact| <= 1e-3 max |exact of that tensor|
    (a backward pass sums B x H x W terms per weight and GroupNorm's backward
    subtracts means, so float32 cancellation is larger than in the forward);
  - Adam step: Adam's first step is -lr g / (|g| + eps), nearly -lr sign(g), so
    where |g| exceeds 10 x the gradient bound the change must equal the exact
    one to 1% of lr plus 4 ulp of the parameter; where g is within float32
    noise of 0 its sign is not determined and only |change| <= lr is required.
"""
import copy
import json
import math
import struct
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

C = 16          # channels: 203,505 parameters, the figure of the peer README
B = 8           # batch: small and fast (the whole test takes a few seconds)
LR = 2e-4
EXPECTED_PARAMS = {16: 203505, 32: 799201}


# ---- the model: a copy of "UNet-S", the contract of the PyTorch peer benchmark
# (its unet_train.py, which is not part of this repository; the
# definition is repeated here verbatim, except that sinusoidal() computes in the
# dtype of t, so that the float64 reference is float64 throughout; in float32 it
# is the peer's function exactly).
def sinusoidal(t, dim=64, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=t.dtype) / half)
    a = (1000.0 * t)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class Res(nn.Module):
    def __init__(self, a, b, e):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, a), nn.Conv2d(a, b, 3, padding=1)
        self.emb = nn.Linear(e, b)
        self.n2, self.c2 = nn.GroupNorm(8, b), nn.Conv2d(b, b, 3, padding=1)
        self.skip = nn.Conv2d(a, b, 1) if a != b else nn.Identity()

    def forward(self, h, emb):
        y = self.c1(F.silu(self.n1(h))) + self.emb(emb)[:, :, None, None]
        y = self.c2(F.silu(self.n2(y)))
        return y + self.skip(h)


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n, self.qkv, self.proj = nn.GroupNorm(8, c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, h):
        B, C, H, W = h.shape
        q, k, v = self.qkv(self.n(h)).reshape(B, 3, C, H * W).unbind(1)
        w = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(C), dim=-1)
        o = torch.einsum("bij,bcj->bci", w, v).reshape(B, C, H, W)
        return h + self.proj(o)


class UNetS(nn.Module):
    def __init__(self, C=32, classes=10):
        super().__init__()
        e = 4 * C
        self.t1, self.t2 = nn.Linear(64, e), nn.Linear(e, e)
        self.label = nn.Embedding(classes + 1, e)
        self.stem = nn.Conv2d(1, C, 3, padding=1)
        self.r1, self.d1 = Res(C, C, e), nn.Conv2d(C, C, 3, stride=2, padding=1)
        self.r2, self.d2 = Res(C, 2 * C, e), nn.Conv2d(2 * C, 2 * C, 3, stride=2, padding=1)
        self.r3 = Res(2 * C, 2 * C, e)
        self.m1, self.attn, self.m2 = Res(2 * C, 2 * C, e), Attn(2 * C), Res(2 * C, 2 * C, e)
        self.u3, self.up3 = Res(4 * C, 2 * C, e), nn.Conv2d(2 * C, 2 * C, 3, padding=1)
        self.u2, self.up2 = Res(4 * C, 2 * C, e), nn.Conv2d(2 * C, 2 * C, 3, padding=1)
        self.u1 = Res(3 * C, C, e)
        self.out_n, self.out_c = nn.GroupNorm(8, C), nn.Conv2d(C, 1, 3, padding=1)

    def forward(self, x, t, y):
        emb = self.t2(F.silu(self.t1(sinusoidal(t)))) + self.label(y)
        s1 = self.r1(self.stem(x), emb)
        s2 = self.r2(self.d1(s1), emb)
        s3 = self.r3(self.d2(s2), emb)
        h = self.m2(self.attn(self.m1(s3, emb)), emb)
        h = self.u3(torch.cat([h, s3], 1), emb)
        h = self.u2(torch.cat([self.up3(F.interpolate(h, scale_factor=2.0, mode="nearest")), s2], 1), emb)
        h = self.u1(torch.cat([self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest")), s1], 1), emb)
        return self.out_c(F.silu(self.out_n(h)))


# ---- safetensors without the safetensors package ---------------------------
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def st_save(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        tag = {np.dtype(v): k2 for k2, v in DTYPES.items()}[a.dtype]
        b = a.tobytes()
        header[k] = {"dtype": tag, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_load(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        b0, b1 = e["data_offsets"]
        out[k] = np.frombuffer(data[b0:b1], dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).copy()
    return out


# ---- name and layout mapping ------------------------------------------------
def linear_names(model):
    return {n + ".weight" for n, m in model.named_modules() if isinstance(m, nn.Linear)}


def to_fmlua(name, a, lin):
    """torch parameter (numpy) -> fmlua's layout: Linear weights are (in, out)."""
    return np.ascontiguousarray(a.T) if name in lin else a


FAILED = []


def report(what, err, ref_err, scale, tol, extra=""):
    ok = err <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {what:34s} fmlua {err:9.3g}  torch32 {ref_err:9.3g}  "
          f"scale {scale:9.3g}  bound {tol:9.3g}{extra}")
    if not ok:
        FAILED.append(what)


def maxabs(a):
    return float(np.max(np.abs(a))) if a.size else 0.0


def main():
    fmlua, lua, d = sys.argv[1:4]
    t_start = time.time()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = UNetS(C)
    # GroupNorm starts at weight 1, bias 0: move them away from that so that a
    # side ignoring the loaded affine parameters cannot pass
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.GroupNorm):
                m.weight.add_(0.2 * torch.randn_like(m.weight))
                m.bias.add_(0.2 * torch.randn_like(m.bias))
    lin = linear_names(model)
    names = [n for n, _ in model.named_parameters()]
    p0 = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    expect = {n: tuple(to_fmlua(n, a, lin).shape) for n, a in p0.items()}
    nparams = sum(a.size for a in p0.values())

    x = torch.randn(B, 1, 28, 28)
    t = torch.cat([torch.tensor([0.0, 1.0]), torch.rand(B - 2)])      # both ends of [0, 1]
    y = torch.tensor([0, 4, 9, 10, 2, 10, 6, 1])                       # 10 = the null label
    x1 = torch.rand(B, 1, 28, 28) * 2 - 1
    x0 = torch.randn(B, 1, 28, 28)
    dx = torch.randn(B, 1, 28, 28)
    st_save(f"{d}/weights.safetensors", {n: to_fmlua(n, a, lin) for n, a in p0.items()})
    st_save(f"{d}/inputs.safetensors", {"x": x.numpy(), "t": t.numpy(), "y": (y + 1).numpy(),
                                        "x1": x1.numpy(), "x0": x0.numpy(), "dx": dx.numpy()})

    # ---- fmlua
    t0 = time.time()
    r = subprocess.run([fmlua, lua, d, str(C)], capture_output=True, text=True, timeout=300)
    t_fmlua = time.time() - t0
    lines = r.stdout.splitlines()
    got = {}
    nparams_f = None
    for ln in lines:
        f = ln.split()
        if f and f[0] == "param":
            got[f[1]] = tuple(int(v) for v in f[2].split("x")) if len(f) > 2 and f[2] else ()
        elif f and f[0] == "num_parameters":
            nparams_f = int(f[1])
    # names and shapes, even when the run failed later on
    missing = [n for n in names if n not in got]
    extra = [n for n in got if n not in expect]
    wrong = [(n, got[n], expect[n]) for n in names if n in got and got[n] != expect[n]]
    print(f"# torch: {len(names)} parameter tensors, {nparams} parameters; fmlua: {len(got)} "
          f"tensors, num_parameters() = {nparams_f}")
    if not got:
        print("FAIL fmlua listed no parameters (see its error below)")
        missing = []
    for n in missing:
        print(f"FAIL name: torch has {n} {expect[n]} (fmlua layout), fmlua has no such parameter")
    for n in extra:
        print(f"FAIL name: fmlua has {n} {got[n]}, torch has no such parameter")
    for n, g, e in wrong:
        print(f"FAIL shape of {n}: fmlua {g}, expected {e} (torch {p0[n].shape}"
              f"{', Linear: transposed' if n in lin else ''})")
    if missing or extra or wrong or not got:
        FAILED.append("names/shapes")
    elif got:
        print(f"ok   names and shapes of all {len(names)} parameter tensors")
    order_f = [ln.split()[1] for ln in lines if ln.startswith("param")]
    if got and order_f != [n for n in names if n in got]:
        print("#    (fmlua's parameter order differs from torch's; not an error)")
    ok_n = nparams_f == nparams and (C not in EXPECTED_PARAMS or nparams == EXPECTED_PARAMS[C])
    print(f"{'ok  ' if ok_n else 'FAIL'} parameter count: fmlua {nparams_f}, torch {nparams}"
          f"{', expected %d' % EXPECTED_PARAMS[C] if C in EXPECTED_PARAMS else ''}")
    if not ok_n:
        FAILED.append("parameter count")
    if r.returncode != 0:
        print(f"FAIL fmlua exited with {r.returncode}:\n{r.stderr.strip()}")
        for ln in lines:
            if not ln.startswith("param"):
                print("  " + ln)
        return 1
    R = st_load(f"{d}/fmlua.safetensors")
    print(f"# fmlua ran in {t_fmlua:.1f} s")

    # ---- torch, float32 and float64, same weights and inputs
    def run(m, dt):
        xs, ts, x1s, x0s, dxs = (v.to(dt) for v in (x, t, x1, x0, dx))
        with torch.no_grad():
            out = m(xs, ts, y)
        import torch.autograd.forward_ad as fwAD
        with torch.no_grad(), fwAD.dual_level():
            o = m(fwAD.make_dual(xs, dxs), fwAD.make_dual(ts, torch.ones(B, dtype=dt)), y)
            jo, jt = fwAD.unpack_dual(o)
            jo, jt = jo.clone(), jt.clone()
        opt = torch.optim.Adam(m.parameters(), lr=LR)
        tt = ts[:, None, None, None]
        v = m(tt * x1s + (1 - tt) * x0s, ts, y)
        loss = ((v - (x1s - x0s)) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = {n: to_fmlua(n, p.grad.numpy().copy(), lin) for n, p in m.named_parameters()}
        opt.step()
        after = {n: to_fmlua(n, p.detach().numpy().copy(), lin) for n, p in m.named_parameters()}
        return dict(out=out.numpy(), jvp_out=jo.numpy(), jvp_tan=jt.numpy(), loss=loss.item(),
                    grads=grads, after=after)

    m64 = copy.deepcopy(model).double()
    T32 = run(model, torch.float32)
    T64 = run(m64, torch.float64)

    print("# max |x - float64 reference| for fmlua and for torch float32, the scale max |reference|")
    for k, what in (("out", "forward output"), ("jvp_out", "jvp output"), ("jvp_tan", "jvp tangent")):
        ref = T64[k]
        if k not in R or R[k].shape != ref.shape:
            print(f"FAIL {what}: fmlua gave {R[k].shape if k in R else 'nothing'}, expected {ref.shape}")
            FAILED.append(what)
            continue
        scale = maxabs(ref)
        report(what, maxabs(R[k] - ref), maxabs(T32[k] - ref), scale, 1e-4 * scale)
    lf = float(R["loss"].reshape(-1)[0])
    report("loss (relative)", abs(lf - T64["loss"]) / abs(T64["loss"]),
           abs(T32["loss"] - T64["loss"]) / abs(T64["loss"]), 1.0, 1e-5,
           f"  (fmlua {lf:.7g}, torch32 {T32['loss']:.7g}, torch64 {T64['loss']:.7g})")

    worst = []
    for n in names:
        g64, gk = T64["grads"][n], "grad." + n
        if gk not in R or R[gk].shape != g64.shape:
            print(f"FAIL gradient of {n}: fmlua gave {R[gk].shape if gk in R else 'none'}, "
                  f"expected {g64.shape}")
            FAILED.append("grad " + n)
            continue
        scale = maxabs(g64)
        err, ref_err = maxabs(R[gk] - g64), maxabs(T32["grads"][n] - g64)
        tol = 1e-3 * scale
        worst.append((err / scale if scale else 0, n))
        if err > tol or not np.all(np.isfinite(R[gk])):
            report("grad " + n, err, ref_err, scale, tol)
        # Adam's first step
        ak = "after." + n
        if ak not in R:
            print(f"FAIL parameter {n} after the Adam step: missing")
            FAILED.append("adam " + n)
            continue
        delta = R[ak].astype(np.float64) - to_fmlua(n, p0[n], lin).astype(np.float64)
        exact = -LR * g64 / (np.abs(g64) + 1e-8)
        sure = np.abs(g64) > 10 * tol
        pmax = maxabs(to_fmlua(n, p0[n], lin))
        bound = 0.01 * LR + 4 * np.finfo(np.float32).eps * pmax
        e1 = maxabs((delta - exact)[sure])
        e2 = maxabs(delta[~sure])
        if e1 > bound or e2 > LR * (1 + 1e-3) + bound:
            print(f"FAIL adam step of {n}: max |change - exact| {e1:.3g} where the gradient's sign is "
                  f"sure (bound {bound:.3g}); max |change| {e2:.3g} elsewhere (bound {LR:.3g})")
            FAILED.append("adam " + n)
    worst.sort(reverse=True)
    bad = [w for w in worst if w[0] > 1e-3]
    if not bad:
        print(f"ok   gradients of all {len(worst)} parameter tensors within 1e-3 x their scale "
              f"(largest: " + ", ".join(f"{n} {e:.2g}" for e, n in worst[:3]) + ")")
    adam_bad = [f for f in FAILED if f.startswith("adam ")]
    if not adam_bad:
        print(f"ok   Adam step (lr {LR:g}) of all {len(names)} parameter tensors")

    # fm.save: names and values (after the step) as fmlua holds them
    S = st_load(f"{d}/saved.safetensors")
    sn = set(S) - {k for k in S if k.startswith("optim.")}
    bad = sorted(sn ^ set(names))
    diff = [n for n in names if n in S and ("after." + n) in R
            and (S[n].shape != R["after." + n].shape or not np.array_equal(S[n], R["after." + n]))]
    if bad or diff:
        print(f"FAIL fm.save: names differing from torch's {bad}, values differing {diff}")
        FAILED.append("fm.save")
    else:
        print(f"ok   fm.save writes the {len(names)} tensors under torch's names")

    print(f"# {time.time() - t_start:.1f} s in all")
    if FAILED:
        more = f" and {len(FAILED) - 12} more" if len(FAILED) > 12 else ""
        print(f"SOME FAILED ({len(FAILED)}): " + ", ".join(FAILED[:12]) + more)
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
