--- fm.fewstep — few-step generation by learning the average velocity of the
-- flow over an interval (docs/math.md §9): MeanFlow, Terminal Velocity
-- Matching, and their k-step samplers.
--
-- A few-step network takes two times. F(x, s, t) is the average velocity
-- from time s to time t >= s (noise at 0, data at 1), so one evaluation
-- moves a point across the interval: x_t = x_s + (t - s) F(x_s, s, t), and
-- F(x, t, t) is the instantaneous field v(x, t).
--   fm.nn.mlp{inputs = d + 2, ...}   called on cat(x, s, t) (s, t columns)
--   fm.nn.unet{times = 2, ...}       called as net(x, s, t, y)
--   a function(x, s, t, y)           anything else
--
--   local fs = fm.fewstep
--   local loss, ex = fs.meanflow_loss(net, path, z, {labels = y})
--   local tvm = fs.tvm(net, {ema = 0.99})
--   local loss, ex = tvm:loss(path, z);  ...; opt:step(); tvm:update()
--   local x1 = fs.sample(net, fm.randn(n, d), {steps = 1})
--   local s, t = fs.sample_times(n, {time = "uniform", equal = 0.5})
local fm = require "fm"

local M = {}

--- fs.call(net, x, s, t [, y]): F(x, s, t) with s, t (n, 1) columns.
function M.call(net, x, s, t, y)
  if type(net) == "function" then return net(x, s, t, y) end
  if type(net) == "table" and net.times == 2 then
    return net(x, s:reshape(-1), t:reshape(-1), y)
  end
  if type(net) == "table" and net.times == 1 then
    error("fm.fewstep: the U-Net takes one time; build it with fm.nn.unet{times = 2}", 3)
  end
  return net(fm.cat({x, s, t}, 2))
end

--- fs.rows(v, x): an (n, 1) column as (n, 1, 1, ...) to broadcast against x.
function M.rows(v, x)
  if x:dim() <= 2 then return v end
  local s = {x:size(1)}
  for i = 2, x:dim() do s[i] = 1 end
  return v:reshape(s)
end

-- one draw per row from the time distribution: "uniform" on [0, 1] or
-- {logit_normal = {mean =, std =}}, sigmoid(mean + std n)
local function draw(n, spec, dtype)
  if spec == nil or spec == "uniform" then return fm.rand(n, 1, dtype) end
  if type(spec) == "table" and spec.logit_normal then
    local ln = spec.logit_normal
    return (fm.randn(n, 1, dtype) * (ln.std or 1) + (ln.mean or 0)):sigmoid()
  end
  error("fm.fewstep: time must be \"uniform\" or {logit_normal = {mean =, std =}}", 3)
end

--- fs.sample_times(n, {time =, equal =, dtype =}) -> s, t: (n, 1) columns
-- with s <= t, the two order statistics of two draws from `time` (default
-- "uniform"); a share `equal` of the rows (default 0.5) has s = t.
function M.sample_times(n, opts)
  opts = opts or {}
  local dt = opts.dtype or fm.get_default_dtype()
  local equal = opts.equal or 0.5
  if type(equal) ~= "number" or equal ~= equal or equal < 0 or equal > 1 then
    error("fm.fewstep: equal must be a share in [0, 1], got " .. tostring(equal), 2)
  end
  local a, b = draw(n, opts.time, dt), draw(n, opts.time, dt)
  local s, t = fm.minimum(a, b), fm.maximum(a, b)
  local same = fm.rand(n, 1, dt):lt(equal):to(dt)
  s = s * (1 - same) + t * same
  return s, t
end

-- the (n, 1) columns of times of a loss: given (opts.s, opts.t) or drawn
function M.times_of(n, opts, dtype)
  if opts.s ~= nil or opts.t ~= nil then
    local function col(v, what)
      if type(v) == "number" then return fm.full({n, 1}, v, dtype) end
      if not fm.is_tensor(v) or v:numel() ~= n then
        error("fm.fewstep: " .. what .. " must be a number or a tensor of " .. n .. " values", 4)
      end
      return v:reshape(n, 1):to(dtype)
    end
    local s, t = col(opts.s, "s"), col(opts.t, "t")
    if (t - s):min():item() < 0 then error("fm.fewstep: s <= t is required", 4) end
    return s, t
  end
  return M.sample_times(n, {time = opts.time, equal = opts.equal, dtype = dtype})
end

--- The per-row loss sum_j e_ij^2 (over every axis but the first), and its
-- weighted mean: w_i = 1 / (e_i + c)^p under a stop-gradient when
-- opts.adaptive = {p =, c =} (MeanFlow's adaptive weight), else 1.
function M.reduce(err, adaptive)
  local n = err:size(1)
  local sq = (err * err):reshape(n, -1):sum(2)
  if not adaptive then return sq:mean(), sq end
  local p, c = adaptive.p or 1, adaptive.c or 1e-3
  local w = ((sq:detach() + c) ^ (-p)):detach()
  return (w * sq):mean(), sq
end

--- fs.on_path(path, z, eps, s) -> x_s, v: the point alpha_s z + beta_s eps
-- and its conditional velocity, for batches of any shape (images: rows
-- flattened for the path, then shaped back); s an (n, 1) column.
function M.on_path(path, z, eps, s)
  local n, shape = z:size(1), z:shape()
  local zf, ef = z:reshape(n, -1), eps:reshape(n, -1)
  return path:sample(zf, s, ef):reshape(shape), path:velocity_eps(zf, ef, s):reshape(shape)
end

-- the batch (z, eps) of a loss: z data, eps noise (opts.eps or drawn)
function M.noise_of(z, opts)
  local eps = opts.eps or fm.randn(z:shape(), z:dtype())
  local zs, es = z:shape(), eps:shape()
  local same = #zs == #es
  for i = 1, #zs do same = same and zs[i] == es[i] end
  if not same then error("fm.fewstep: eps must have the shape of the data batch z", 4) end
  return eps
end

M.meanflow_loss = function(...) return require("fm.fewstep.meanflow").loss(...) end
M.tvm = function(...) return require("fm.fewstep.tvm").new(...) end
M.sample = function(...) return require("fm.fewstep.sample").sample(...) end
M.grid = function(...) return require("fm.fewstep.sample").grid(...) end

return M
