-- dist_train.lua — a few data-parallel training steps whose result must not
-- depend on the number of ranks (tests/cli/dist.sh, docs/dist.md "Testing").
--
--   fmlua tests/cli/dist_train.lua MODEL OUT [FIRST LAST [FROM]]
--   mpirun -np 2 fmlua tests/cli/dist_train.lua ...
-- MODEL: mlp (the fused MLP, an MSE regression), conv (Conv2d, GroupNorm+SiLU,
-- Conv2d), meanflow (the fused MLP under fm.fewstep.meanflow_loss: the
-- gradient comes through a JVP), mlp64 (mlp in float64), mlp_local (mlp with
-- dist = false: the ranks do not average; the negative control).
-- Steps FIRST..LAST (default 1..20); FROM: a checkpoint to resume from.
-- Writes OUT (rank 0): the checkpoint of parameters and optimiser state.
--
-- The data feed: the whole batch of every step (B = 8 rows) is drawn on
-- rank 0 from seed 99 and broadcast; rank r trains on rows r*B/N+1 ..
-- (r+1)*B/N (fm.dist.shard). So N ranks see exactly the rows one process
-- sees, and the averaged gradient is the one-process gradient up to the
-- order of float sums.
local fm = require "fm"
local dist = require "fm.dist"
local checkpoint = require "fm.checkpoint"
local model, out = arg[1], arg[2]
local first, last, from = math.tointeger(arg[3]) or 1, math.tointeger(arg[4]) or 20, arg[5]
local B, STEPS = 8, 20
if model == "mlp64" then fm.set_default_dtype("float64") end

fm.seed(7)  -- rank r: stream r; the weights are rank 0's (broadcast)
local net, inputs
if model == "conv" then
  net = fm.nn.Sequential(fm.nn.Conv2d(1, 4, 3, {padding = 1}),
                         fm.nn.GroupNorm(2, 4, {act = "silu"}),
                         fm.nn.Conv2d(4, 1, 3, {padding = 1}))
  inputs = {1, 6, 6}
else
  -- MeanFlow's network takes (x, s, t), the others (x, t)
  net = fm.nn.mlp{inputs = model == "meanflow" and 4 or 3, hidden = {16, 16}, outputs = 2,
                  act = "silu"}
  inputs = {2}
end
local opt = fm.optim.adam(net, {lr = 1e-2, dist = model ~= "mlp_local"})

-- every step's batch, drawn on rank 0 (seed 99) and sent to all
local function feed()
  fm.seed(99)
  local n = STEPS * B
  local x = fm.randn(n, table.unpack(inputs))
  local eps, t = fm.randn(n, table.unpack(inputs)), fm.rand(n, 1)
  return dist.broadcast({x, eps, t}, 0)
end
local data = feed()
local function rows(k, i) return dist.shard(data[k]:narrow(1, (i - 1) * B + 1, B)) end

local path = fm.path.gaussian("linear")
local function loss_of(i)
  local x, eps, t = rows(1, i), rows(2, i), rows(3, i)
  if model == "meanflow" then
    local s = t * 0.5
    return (fm.fewstep.meanflow_loss(net, path, x, {eps = eps, s = s, t = t}))
  end
  if model == "conv" then
    local tt = t:reshape(-1, 1, 1, 1)
    local xt = x * tt + eps * (1 - tt)
    return ((net(xt) - (x - eps)) ^ 2):mean()
  end
  local xt = x * t + eps * (1 - t)
  return ((net(fm.cat({xt, t}, 2)) - (x - eps)) ^ 2):mean()
end

if from then checkpoint.load(from, {net = net, optimizer = opt}) end
for i = first, last do
  local loss = loss_of(i)
  opt:zero_grad()
  loss:backward()
  fm.optim.clip_grad_norm(net:parameters(), 1.0)
  opt:step()
end
checkpoint.save(out, {net = net, optimizer = opt, step = last})   -- rank 0 writes
