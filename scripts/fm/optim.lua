-- fm.optim — optimisers (PyTorch's update formulas, engine/optim.c does the
-- per-element work: one C call per step for all parameters), gradient
-- clipping, learning-rate schedules and an exponential moving average.
local fm = require "fm"
local args = require "fm.args"
local dist = require "fm.dist"
local C = fm._optim

local optim = {}

local function param_list(params, what)
  if type(params) == "table" and params.parameters and not fm.is_tensor(params[1]) then
    params = params:parameters()
  end
  assert(type(params) == "table" and #params > 0,
         what .. ": a non-empty list of parameter tensors (or a module) expected")
  for i, p in ipairs(params) do
    assert(fm.is_tensor(p), what .. ": parameter " .. i .. " is not a tensor")
  end
  return params
end

local function zeros_like_list(params)
  local out = {}
  for i, p in ipairs(params) do out[i] = fm.zeros_like(p:detach()) end
  return out
end

local Optimizer = {}
Optimizer.__index = Optimizer
optim.Optimizer = Optimizer

-- Non-finite gradients (docs/reliability.md, "Bad numbers"): before every
-- update an optimiser computes the global gradient norm (one read of the
-- gradients). If it is NaN or inf, the update is not applied, and
--   nonfinite = "error" (default)  raises "fm.optim.<kind>: step N: non-finite
--                                  gradient (norm nan); the parameters were not
--                                  updated"
--   nonfinite = "skip"             skips the step: step() returns false and
--                                  opt.skipped counts such steps
--   nonfinite = "ignore"           no check (the update may write NaN)
-- Errors about non-finite numbers always contain "non-finite", which is how
-- fm.train.loop recognises them.
--
-- Data-parallel jobs (docs/dist.md): under an MPI launcher with more than
-- one rank, every optimiser (and EMA) starts from rank 0's weights, and the
-- gradients are averaged over the ranks before every step and before
-- clip_grad_norm; the option dist = false keeps this rank's own.
local POLICIES = {error = true, skip = true, ignore = true}
local function policy_of(o, what)
  local p = o.nonfinite or "error"
  if not POLICIES[p] then
    error(what .. ": nonfinite must be \"error\", \"skip\" or \"ignore\", got " .. tostring(p), 3)
  end
  return p
end
optim.policy_of = policy_of

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end
optim.finite = finite

-- self:check_grads() -> true to update, false to skip (or raises). In a
-- data-parallel job the gradients are first averaged over the ranks
-- (docs/dist.md), so every rank takes the same decision and the same step.
function Optimizer:check_grads()
  if self.dist then
    dist.sync_grads(self.params)
    dist._forget(self.params)
  end
  if self.nonfinite == "ignore" then return true end
  local norm = C.grad_norm(self.params)
  if finite(norm) then return true end
  if self.nonfinite == "skip" then
    self.skipped = self.skipped + 1
    return false
  end
  error(string.format("fm.optim.%s: step %d: non-finite gradient (norm %s); the parameters "
                      .. "were not updated (nonfinite = \"skip\" skips such steps)",
                      self.kind, self.nstep + 1, (tostring(norm):gsub("^%-", ""))), 3)
end

--- opt:zero_grad(): sets every parameter's .grad to nil (as torch's
-- set_to_none). A gradient no script has read is kept as the parameter's
-- spare storage for the next backward (bindings/grad_buffers.c).
function Optimizer:zero_grad()
  fm._autograd.release_grads(self.params)
  dist._forget(self.params)
end

-- with_dist(opt, o): under a launcher, opt starts from rank 0's weights and
-- averages gradients over the ranks (o.dist = false: this rank's alone).
local function with_dist(self, o)
  if o.dist ~= false and dist.active() then dist._attach(self) end
  return self
end
function Optimizer:set_lr(lr) self.lr = lr end
function Optimizer:get_lr() return self.lr end

local function pname(p, i) return p.name or tostring(i) end

--- opt:state_tensors() -> {["optim.<name>.<state>"] = tensor}, metadata
function Optimizer:state_tensors()
  local t, meta = {}, {["optim.type"] = self.kind, ["optim.lr"] = string.format("%.17g", self.lr),
                       ["optim.nstep"] = tostring(self.nstep)}
  for i, p in ipairs(self.params) do
    local n = pname(p, i)
    for sname, list in pairs(self.state) do
      t["optim." .. n .. "." .. sname] = list[i]
    end
    if self.steps then meta["optim." .. n .. ".step"] = tostring(self.steps[i]) end
  end
  return t, meta
end

--- opt:load_state(path): restores the state saved by fm.save(path, net,
-- {optimizer = opt}); checks everything before changing anything.
function Optimizer:load_state(path)
  local targets = self:state_tensors()
  local ok, n, meta = pcall(fm.safetensors.load_into, path, targets, false)
  if not ok then error("load_state: " .. tostring(n), 2) end
  if meta["optim.type"] and meta["optim.type"] ~= self.kind then
    error("load_state: " .. path .. " holds " .. meta["optim.type"] ..
          " state, this optimiser is " .. self.kind, 2)
  end
  self.nstep = tonumber(meta["optim.nstep"]) or self.nstep
  if self.steps then
    for i, p in ipairs(self.params) do
      self.steps[i] = math.tointeger(tonumber(meta["optim." .. pname(p, i) .. ".step"])) or self.steps[i]
    end
  end
end

-- ---- SGD ----------------------------------------------------------------------
local SGD = setmetatable({}, {__index = Optimizer})
SGD.__index = SGD

--- fm.optim.sgd(params, {lr=, momentum=0, dampening=0, nesterov=false, weight_decay=0,
--   nonfinite = "error"})
function optim.sgd(params, o)
  args.opts("fm.optim.sgd", 2, o)
  o = o or {}
  assert(o.lr, "fm.optim.sgd: lr expected")
  local self = setmetatable({kind = "sgd", params = param_list(params, "fm.optim.sgd"),
    lr = o.lr, momentum = o.momentum or 0, dampening = o.dampening or 0,
    nesterov = o.nesterov or false, weight_decay = o.weight_decay or 0, nstep = 0,
    nonfinite = policy_of(o, "fm.optim.sgd"), skipped = 0, state = {}}, SGD)
  assert(not self.nesterov or (self.momentum > 0 and self.dampening == 0),
         "fm.optim.sgd: nesterov needs momentum > 0 and dampening = 0")
  if self.momentum ~= 0 then self.state.momentum_buffer = zeros_like_list(self.params) end
  return with_dist(self, o)
end
function SGD:step()
  if not self:check_grads() then return false end
  C.sgd(self.params, self.state.momentum_buffer or {}, self.lr, self.momentum,
        self.dampening, self.weight_decay, self.nesterov, self.nstep == 0)
  self.nstep = self.nstep + 1
  return true
end

-- ---- Adam / AdamW ---------------------------------------------------------------
local Adam = setmetatable({}, {__index = Optimizer})
Adam.__index = Adam

local function adam(kind, params, o, decoupled, wd_default)
  o = args.opts("fm.optim." .. kind, 2, o, nil, 4)
  local betas = o.betas or {0.9, 0.999}
  local self = setmetatable({kind = kind, params = param_list(params, "fm.optim." .. kind),
    lr = o.lr or 1e-3, beta1 = betas[1], beta2 = betas[2], eps = o.eps or 1e-8,
    weight_decay = o.weight_decay or wd_default, decoupled = decoupled, nstep = 0,
    nonfinite = policy_of(o, "fm.optim." .. kind), skipped = 0, steps = {}, state = {}}, Adam)
  self.state.exp_avg = zeros_like_list(self.params)
  self.state.exp_avg_sq = zeros_like_list(self.params)
  for i = 1, #self.params do self.steps[i] = 0 end
  return with_dist(self, o)
end
--- fm.optim.adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0,
--   nonfinite = "error"})
function optim.adam(params, o) return adam("adam", params, o, false, 0) end
--- fm.optim.adamw(params, {... weight_decay=1e-2}) (decoupled weight decay)
function optim.adamw(params, o) return adam("adamw", params, o, true, 1e-2) end
function Adam:step()
  if not self:check_grads() then return false end
  C.adam(self.params, self.state.exp_avg, self.state.exp_avg_sq, self.steps, self.lr,
         self.beta1, self.beta2, self.eps, self.weight_decay, self.decoupled)
  self.nstep = self.nstep + 1
  return true
end

-- ---- clipping ----------------------------------------------------------------------
--- fm.optim.clip_grad_norm(params, max_norm [, {nonfinite = "error"}]) -> total
-- norm (before clipping); scales every .grad by min(1, max_norm / (norm + 1e-6))
-- as torch does. A NaN or inf norm is an error ("clip_grad_norm: non-finite
-- gradient ..."; nothing is scaled), unless nonfinite = "ignore": then the
-- norm is returned and nothing is scaled (torch would scale by NaN).
function optim.clip_grad_norm(params, max_norm, o)
  args.check("fm.optim.clip_grad_norm", 2, "max_norm", max_norm, "number")
  args.opts("fm.optim.clip_grad_norm", 3, o)
  params = param_list(params, "clip_grad_norm")
  dist.sync_grads(params)   -- the norm of the averaged gradient (docs/dist.md)
  local policy = o and o.nonfinite or "error"
  local norm = C.grad_norm(params)
  if not finite(norm) then
    if policy == "ignore" then return norm end
    error(string.format("clip_grad_norm: non-finite gradient (norm %s); nothing was scaled",
                        (tostring(norm):gsub("^%-", ""))), 2)
  end
  local coef = max_norm / (norm + 1e-6)
  if coef < 1 then C.scale_grads(params, coef) end
  return norm
end

-- ---- learning-rate schedules ---------------------------------------------------------
-- A schedule is a function (step, base_lr) -> lr, step counting from 1.
local schedule = {}
optim.schedule = schedule
function schedule.constant() return function(_, base) return base end end
--- linear_warmup{warmup = W}: base * min(1, step / W).
function schedule.linear_warmup(o)
  args.check("fm.optim.schedule.linear_warmup", 1, "o", o, "options")
  local w = assert(o and o.warmup, "linear_warmup{warmup=} expected")
  return function(step, base) return base * math.min(1, step / w) end
end
--- cosine{total = T, min_lr = 0, warmup = 0}: linear warm-up, then
-- min_lr + (base - min_lr) (1 + cos(pi p)) / 2, p = (step - warmup) / (T - warmup).
function schedule.cosine(o)
  args.check("fm.optim.schedule.cosine", 1, "o", o, "options")
  local total = assert(o and o.total, "cosine{total=} expected")
  local min_lr, w = o.min_lr or 0, o.warmup or 0
  return function(step, base)
    if w > 0 and step <= w then return base * step / w end
    local p = math.min(1, (step - w) / math.max(1, total - w))
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * p))
  end
end

--- fm.optim.scheduler(opt, schedule [, base_lr]) -> s; s:step() advances one
-- step and sets opt's lr (call it once per optimiser step, before opt:step()).
local Scheduler = {}
function optim.scheduler(opt, sched, base_lr)
  args.check("fm.optim.scheduler", 1, "opt", opt, "table")
  args.check("fm.optim.scheduler", 2, "schedule", sched, "callable")
  args.check("fm.optim.scheduler", 3, "base_lr", base_lr, "number?")
  local s = {opt = opt, schedule = sched, base_lr = base_lr or opt:get_lr(), count = 0}
  function s:step()
    self.count = self.count + 1
    local lr = self.schedule(self.count, self.base_lr)
    self.opt:set_lr(lr)
    return lr
  end
  return setmetatable(s, Scheduler)
end

-- ---- EMA -----------------------------------------------------------------------------
local EMA = {}
EMA.__index = EMA

--- fm.optim.ema(params, decay = 0.999 [, {warmup = false}]) -> e: e:update()
-- (avg = d avg + (1 - d) param), e:copy_to([params]), e:swap() (exchange
-- parameters and averages: call twice to get back), e.averages (list of
-- tensors). With warmup, update k uses d = min(decay, (1 + k) / (10 + k)),
-- so that the average forgets the initial weights early (with d fixed at
-- 0.999 they still weigh 0.999^800 = 45% after 800 updates).
function optim.ema(params, decay, opts)
  args.check("fm.optim.ema", 2, "decay", decay, "number?")
  args.opts("fm.optim.ema", 3, opts)
  params = param_list(params, "fm.optim.ema")
  -- in a data-parallel job the average starts from rank 0's weights
  if not (opts and opts.dist == false) then dist.sync_params(params) end
  local avgs = {}
  for i, p in ipairs(params) do
    avgs[i] = p:detach():clone()
    avgs[i].name = p.name
  end
  return setmetatable({params = params, averages = avgs, decay = decay or 0.999,
                       warmup = opts and opts.warmup or false, count = 0}, EMA)
end
function EMA:update()
  self.count = self.count + 1
  local d = self.decay
  if self.warmup then d = math.min(d, (1 + self.count) / (10 + self.count)) end
  C.ema(self.averages, self.params, d)
end
function EMA:copy_to(params)
  params = params and param_list(params, "ema:copy_to") or self.params
  fm.no_grad(function()
    for i, p in ipairs(params) do p:detach():copy(self.averages[i]) end
  end)
end
function EMA:swap()
  fm.no_grad(function()
    for i, p in ipairs(self.params) do
      local tmp = p:detach():clone()
      p:detach():copy(self.averages[i])
      self.averages[i]:copy(tmp)
    end
  end)
end
--- e:state_dict() -> {["ema.<name>"] = average}, for fm.save.
function EMA:state_dict()
  local d = {}
  for i, p in ipairs(self.params) do d["ema." .. pname(p, i)] = self.averages[i] end
  return d
end

-- ---- printing: an optimiser's settings, its parameters and its steps ------------
local pretty = require "fm.pretty"
local function numel_of(params)
  local n = 0
  for _, p in ipairs(params) do n = n + p:numel() end
  return n
end
local function params_text(params)
  return ("%d tensor%s (%d numbers)"):format(#params, #params == 1 and "" or "s", numel_of(params))
end
function SGD.__tostring(self)
  return pretty.call("fm.optim.sgd", {{"lr", self.lr}, {"momentum", self.momentum},
    {"dampening", self.dampening}, {"nesterov", self.nesterov},
    {"weight_decay", self.weight_decay}, {"nonfinite", self.nonfinite}},
    params_text(self.params) .. ", step " .. self.nstep)
end
function Adam.__tostring(self)
  return pretty.call("fm.optim." .. self.kind, {{"lr", self.lr},
    {"betas", {self.beta1, self.beta2}}, {"eps", self.eps},
    {"weight_decay", self.weight_decay}, {"nonfinite", self.nonfinite}},
    params_text(self.params) .. ", step " .. self.nstep)
end
function EMA.__tostring(self)
  return pretty.call("fm.optim.ema", {{"decay", self.decay}, {"warmup", self.warmup}},
    params_text(self.params) .. ", " .. self.count .. " updates")
end
function Scheduler.__tostring(self)
  return pretty.call("fm.optim.scheduler", {{"base_lr", self.base_lr},
    {"lr", self.opt:get_lr()}}, "step " .. self.count)
end

return optim
