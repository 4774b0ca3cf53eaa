-- fm.flows — normalizing flows from affine coupling layers (RealNVP; seed
-- 003's change of variables, docs/math.md §6 "Normalizing flows").
--
--   local flow = fm.flows.realnvp{dim = 2, layers = 8, hidden = {64, 64}}
--   local z, logdet = flow:forward(x)    -- data -> latent, log|det dz/dx| (n,)
--   local x, logdet = flow:inverse(z)    -- latent -> data, log|det dx/dz| (n,)
--   local logp = flow:log_prob(x)        -- log N(z; 0, I) + log|det dz/dx|
--   local x = flow:sample(n)
--   fm.flows.fit(flow, data, {steps = 2000, batch = 256, lr = 2e-3})
--
-- Coupling layer k keeps the coordinates with mask m = 1 (alternating
-- between layers: odd coordinates, then even ones) and moves the others:
--   y = m x + (1 - m) (x exp(s(m x)) + t(m x)),  log|det dy/dx| = sum (1 - m) s
-- with s and t the two halves of one MLP's output. The raw scale r is
-- bounded for stability: s = c tanh(r / c) (scale = "tanh", the default) or
-- s = clamp(r, -c, c) (scale = "clamp"), c = opts.scale_max (3). The last
-- linear layer starts at zero, so a new flow is the identity.
local fm = require "fm"
local nn = require "fm.nn"

local M = {}

local Coupling = nn.class("AffineCoupling")
M.AffineCoupling = Coupling

--- AffineCoupling(mask (d,) of 0/1, opts): opts.hidden, act, dtype, scale, scale_max
function Coupling:init(mask, opts)
  local d = #mask
  local kept = 0
  for _, v in ipairs(mask) do
    if v ~= 0 and v ~= 1 then error("fm.flows: mask entries must be 0 or 1", 3) end
    kept = kept + v
  end
  if kept == 0 or kept == d then
    error(("fm.flows: a coupling mask must keep some and move some of the %d "
      .. "coordinates (it keeps %d): not an invertible coupling"):format(d, kept), 3)
  end
  local dt = opts.dtype or fm.get_default_dtype()
  self.net = nn.mlp{inputs = d, hidden = opts.hidden or {64, 64}, outputs = 2 * d,
                    act = opts.act or "silu", dtype = dt}
  local lins = self.net.layers:children()
  nn.init.zeros(lins[#lins].weight)
  nn.init.zeros(lins[#lins].bias)
  rawset(self, "keep", fm.tensor({mask}, dt))
  rawset(self, "move", 1 - fm.tensor({mask}, dt))
  rawset(self, "d", d)
  rawset(self, "scale", opts.scale or "tanh")
  rawset(self, "scale_max", opts.scale_max or 3)
end

-- s and t (n, d) from the kept coordinates xa = m x, zero on the kept ones.
function Coupling:st(xa)
  local out = self.net(xa)
  local r, t = out:narrow(2, 1, self.d), out:narrow(2, self.d + 1, self.d)
  local c = self.scale_max
  local s = self.scale == "tanh" and (r / c):tanh() * c or r:clamp(-c, c)
  return s * self.move, t * self.move
end

--- y, log|det dy/dx| (n,)
function Coupling:forward(x)
  local xa = x * self.keep
  local s, t = self:st(xa)
  return xa + (x * s:exp() + t) * self.move, s:sum(2)
end

--- x, log|det dx/dy| (n,) = -(the forward log-det at x)
function Coupling:inverse(y)
  local ya = y * self.keep
  local s, t = self:st(ya)
  return ya + ((y - t) * (-s):exp()) * self.move, -s:sum(2)
end

function Coupling:extra_repr()
  local m = {}
  for i, v in ipairs(self.keep:reshape(self.d):totable()) do m[i] = ("%d"):format(v) end
  return ("mask {%s}, scale %s %g"):format(table.concat(m, ", "), self.scale, self.scale_max)
end

local Flow = nn.class("RealNVP")
M.RealNVP = Flow

local SCALES = {tanh = true, clamp = true}

--- fm.flows.realnvp{dim =, layers = 8, hidden = {64, 64}, act = "silu",
--- scale = "tanh" | "clamp", scale_max = 3, dtype =}
function Flow:init(opts)
  if type(opts) ~= "table" then error("fm.flows.realnvp: an options table {dim = ...} expected", 3) end
  local d, k = opts.dim, opts.layers or 8
  if math.type(d) ~= "integer" or d < 2 then
    error("fm.flows.realnvp: dim must be an integer >= 2 (a coupling needs a coordinate "
      .. "to keep and one to move), got " .. tostring(d), 3)
  end
  if math.type(k) ~= "integer" or k < 1 then
    error("fm.flows.realnvp: layers must be an integer >= 1, got " .. tostring(k), 3)
  end
  if not SCALES[opts.scale or "tanh"] then
    error("fm.flows.realnvp: scale must be \"tanh\" or \"clamp\", got " .. tostring(opts.scale), 3)
  end
  local sm = opts.scale_max or 3
  if type(sm) ~= "number" or not (sm > 0) or sm == math.huge then
    error("fm.flows.realnvp: scale_max must be a finite number > 0, got " .. tostring(sm), 3)
  end
  local mods = {}
  for l = 1, k do
    local mask = {}
    for i = 1, d do mask[i] = (i + l) % 2 end -- alternating parity
    mods[l] = Coupling(mask, opts)
  end
  self.layers = nn.Sequential(mods)
  rawset(self, "dim", d)
  rawset(self, "dtype", opts.dtype or fm.get_default_dtype())
end

local function check_x(self, x, what)
  if not fm.is_tensor(x) or x:dim() ~= 2 or x:size(2) ~= self.dim then
    error(("fm.flows: %s must be an (n, %d) tensor, got %s"):format(what, self.dim,
      fm.is_tensor(x) and ("(" .. table.concat(x:shape(), ", ") .. ")") or type(x)), 3)
  end
  return x:dtype() == self.dtype and x or x:to(self.dtype)
end

--- z = f^{-1}(x) and log|det dz/dx| (n,): the log-dets of the layers add
function Flow:forward(x)
  x = check_x(self, x, "x")
  local logdet = fm.zeros({#x}, self.dtype)
  for _, c in ipairs(self.layers:children()) do
    local ld
    x, ld = c:forward(x)
    logdet = logdet + ld
  end
  return x, logdet
end

--- x = f(z) and log|det dx/dz| (n,), the layers in reverse
function Flow:inverse(z)
  z = check_x(self, z, "z")
  local cs = self.layers:children()
  local logdet = fm.zeros({#z}, self.dtype)
  for l = #cs, 1, -1 do
    local ld
    z, ld = cs[l]:inverse(z)
    logdet = logdet + ld
  end
  return z, logdet
end

--- log p(x) = log N(f^{-1}(x); 0, I) + log|det d f^{-1} / dx|  (n,)
function Flow:log_prob(x)
  local z, logdet = self:forward(x)
  return (z ^ 2):sum(2) * -0.5 - 0.5 * self.dim * math.log(2 * math.pi) + logdet
end

--- n samples: f(z), z ~ N(0, I) on fm's generator
function Flow:sample(n)
  return fm.no_grad(function() return (self:inverse(fm.randn(n, self.dim, self.dtype))) end)
end

function Flow:extra_repr()
  return ("dim %d, %d couplings"):format(self.dim, #self.layers:children())
end

function M.realnvp(opts) return Flow(opts) end

--- Maximum likelihood: minimises the mean of -log p(x) over batches of data
-- (anything with :sample(n), or a function(n) -> (n, d)), with Adam and a
-- cosine decay after a short warm-up (as experiments/likelihood.lua).
-- opts: steps (2000), batch (256), lr (2e-3), run, label, log_every.
-- Returns the wall time in seconds.
function M.fit(flow, data, opts)
  opts = opts or {}
  local draw = type(data) == "function" and data or function(n) return (data:sample(n)) end
  local steps, batch, lr = opts.steps or 2000, opts.batch or 256, opts.lr or 2e-3
  local opt = fm.optim.adam(flow, {lr = lr})
  local sched = fm.optim.scheduler(opt, fm.optim.schedule.cosine{total = steps,
    warmup = math.max(1, steps // 50), min_lr = lr / 20})
  return require("fm.train").loop{steps = steps, run = opts.run, label = opts.label or "flow",
    log_every = opts.log_every, step = function()
      local loss = -flow:log_prob(draw(batch)):mean()
      opt:zero_grad(); loss:backward(); sched:step(); opt:step()
      return loss
    end}
end

return M
