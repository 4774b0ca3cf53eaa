#!/usr/bin/env bash
# The engine's thread budget (fm.threads(), engine/pool.h): OpenBLAS's
# thread count, but never more than the CPUs the process may run on, since
# pool workers polling on a shared CPU would stall each other. A training
# step on one CPU with OPENBLAS_NUM_THREADS=2 runs its two parts in turn.
source "$(dirname "$0")/lib.bash"
ncpu=$(nproc)

check "1 OpenBLAS thread" 1 \
  "$(OPENBLAS_NUM_THREADS=1 "$FMLUA" -e 'io.write(require("fm").threads())')"
want=$(( ncpu < 2 ? ncpu : 2 ))
check "2 OpenBLAS threads on $ncpu CPUs" "$want" \
  "$(OPENBLAS_NUM_THREADS=2 "$FMLUA" -e 'io.write(require("fm").threads())')"
check "2 OpenBLAS threads pinned to one CPU" 1 \
  "$(OPENBLAS_NUM_THREADS=2 taskset -c 0 "$FMLUA" -e 'io.write(require("fm").threads())')"

# the same training steps give the same loss pinned to one CPU and free
# (the two halves of the batch and their sum depend on the batch size only)
step='local fm = require "fm"
fm.seed(1)
local net = fm.nn.mlp{inputs = 3, hidden = {64, 64}, outputs = 2}
local opt = fm.optim.adam(net, {lr = 1e-2})
local x, y = fm.randn(300, 3), fm.randn(300, 2)
local loss
for _ = 1, 20 do
  loss = ((net(x) - y) ^ 2):mean()
  opt:zero_grad(); loss:backward(); opt:step()
end
io.write(string.format("%.9g", loss:item()))'
free=$(OPENBLAS_NUM_THREADS=2 timeout 60 "$FMLUA" -e "$step")
pinned=$(OPENBLAS_NUM_THREADS=2 timeout 60 taskset -c 0 "$FMLUA" -e "$step")
one=$(OPENBLAS_NUM_THREADS=1 timeout 60 "$FMLUA" -e "$step")
check "loss pinned to one CPU = loss free" "$free" "$pinned"
check "loss with 1 thread = loss with 2" "$free" "$one"

# fm.ot.sinkhorn splits its rows among the threads: the same plan either way
# (600 x 500 = 300,000 entries, above the split threshold of engine/eval/sinkhorn.c)
plan='local fm = require "fm"
fm.seed(2)
local x, y = fm.randn(600, 2, "float64"), fm.randn(500, 2, "float64") + 1
local P, cost, info = fm.ot.sinkhorn(x, y, {eps = 0.5, iters = 20, tol = 0, check = false})
io.write(string.format("%.17g %.17g %d", cost, (P * P):sum():item(), info.iters))'
two=$(OPENBLAS_NUM_THREADS=2 timeout 60 "$FMLUA" -e "$plan")
one=$(OPENBLAS_NUM_THREADS=1 timeout 60 "$FMLUA" -e "$plan")
check "sinkhorn plan with 1 thread = plan with 2" "$two" "$one"
finish
