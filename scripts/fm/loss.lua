-- fm.loss — training objectives of docs/math.md §4, written with fm's
-- differentiable tensor ops, so every loss is a scalar tensor that
-- loss:backward() differentiates with respect to the model's parameters.
--
--   local loss, ex = fm.loss.cfm(model, path, z [, labels] [, opts])
--   local loss, ex = fm.loss.dsm(model, path, z [, labels] [, opts])    -- score matching
--   local loss, ex = fm.loss.noise(model, path, z [, labels] [, opts])  -- eps prediction
--   fm.loss.cfm(net, path, data:sample(256))      -- the (points, labels) pair of :sample
--
-- model: called as model(fm.cat({xt, t}, 2), labels) with t an (n, 1) column
-- of times (the docs/design.md convention for networks trained on [x, t]),
-- unless opts.field = function(x, t, labels) -> tensor is given (t is then
-- the same (n, 1) column). z: an (n, d) data batch. labels (optional): a
-- tensor of n labels, in the fourth position (so that the two returns of a
-- data set's :sample can be passed as they come) or as opts.labels; they go
-- to the model or field as the last argument (an unconditional network
-- ignores it) and come back in the extras. opts (all optional):
--   eps     (n, d) Gaussian noise (default fm.randn in z's dtype)
--   x0      (n, d) source sample (a coupling's x0; used in place of eps)
--   t       a number or (n,) / (n, 1) tensor of times (default: drawn)
--   time    "uniform" (default) or {logit_normal = {mean = 0, std = 1}}
--   weight  function(t) -> (n, 1) tensor or number, multiplies each row
--   field   function(x, t, labels) -> prediction, replaces the model call
--   labels  the labels, when not given in the fourth position
-- Every loss is mean over rows of weight(t) * ||prediction - target||^2 (sum
-- over the d coordinates) and returns it with extras {t, xt, target, eps,
-- pred, labels} for logging (all detached except pred).
-- Each positional argument is checked (fm.args): a wrong one is an error
-- naming it and what it got.
local fm = require "fm"
local args = require "fm.args"

local M = {}

-- times in [0, 1): uniform, or logit-normal sigmoid(mean + std n) (Esser et
-- al. 2024), which puts more of them mid-path.
function M.sample_time(n, spec, dtype)
  if spec == nil or spec == "uniform" then return fm.rand(n, 1, dtype) end
  if type(spec) == "table" and spec.logit_normal then
    local ln = spec.logit_normal
    local u = fm.randn(n, 1, dtype) * (ln.std or 1) + (ln.mean or 0)
    return u:sigmoid()
  end
  error("fm.loss: time must be \"uniform\" or {logit_normal = {mean =, std =}}", 3)
end

-- the (n, 1) column of times of a batch of n rows
local function time_column(n, opts, dtype)
  local t = opts.t
  if t == nil then return M.sample_time(n, opts.time, dtype) end
  if type(t) == "number" then return fm.full({n, 1}, t, dtype) end
  if t:numel() == 1 then return fm.full({n, 1}, t:item(), dtype) end
  assert(t:numel() == n, "fm.loss: t must be a number, (n,) or (n, 1)")
  return t:reshape(n, 1):to(dtype)
end

-- the model's prediction at (x, t) (and the labels, if any)
function M.predict(model, x, t, opts, labels)
  opts = args.opts("fm.loss.predict", 4, opts)
  labels = labels or opts.labels
  if opts.field then return opts.field(x, t, labels) end
  return model(fm.cat({x, t}, 2), labels)
end

-- mean_i w(t_i) ||pred_i - target_i||^2
local function reduce(pred, target, t, opts)
  local r = ((pred - target) ^ 2):sum(2)           -- (n,)
  if opts.weight then
    local w = opts.weight(t)
    if type(w) ~= "number" then w = w:reshape(-1) end
    r = r * w
  end
  return r:mean()
end

local function setup(fname, model, path, z, a4, a5)
  if type(path) ~= "table" and type(path) ~= "userdata" then
    args.fail(fname, 2, "path", "a path (fm.path.gaussian, fm.coupling.bridge)", path, 3)
  end
  if not fm.is_tensor(z) or z:dim() ~= 2 then
    args.fail(fname, 3, "z", "an (n, d) tensor", z, 3)
  end
  local labels, opts = args.labels_and_opts(fname, 4, z, a4, a5, 4)
  if not opts.field then args.check(fname, 1, "model", model, "callable", 4) end
  local n, dtype = #z, z:dtype()
  local t = time_column(n, opts, dtype)
  local eps = opts.x0 or opts.eps or fm.randn(n, z:shape()[2], dtype)
  return opts, t, eps, labels
end

--- Conditional flow matching: target u_t(x_t | z) in the x-free form
-- dalpha_t z + dbeta_t eps (z - eps for linear), exact at every t. A bridge
-- path (fm.coupling.bridge) also takes opts.x0 and its own noise opts.eps.
function M.cfm(model, path, z, a4, a5)
  local opts, t, eps, labels = setup("fm.loss.cfm", model, path, z, a4, a5)
  local xt, target
  if type(path) == "table" and path.is_bridge then
    local x0 = opts.x0 or fm.randn(#z, z:shape()[2], z:dtype())
    eps = opts.eps or fm.randn(#z, z:shape()[2], z:dtype())
    xt = path:sample(z, x0, t, eps)
    target = path:velocity_eps(z, x0, eps, t)
  else
    xt = path:sample(z, t, eps)
    target = path:velocity_eps(z, eps, t)
  end
  local pred = M.predict(model, xt, t, opts, labels)
  return reduce(pred, target, t, opts),
    {t = t, xt = xt, target = target, eps = eps, pred = pred, labels = labels}
end

-- beta at t clamped into [t_eps, 1 - t_eps] (path.h's clamp), so that
-- 1 / beta stays <= 1e5 for linear at t = 1
local function clamped_beta(path, t)
  local e = M.t_eps
  return path:beta(t:clamp(e, 1 - e))
end
M.t_eps = 1e-5

--- Denoising score matching: target grad log p_t(x_t | z) = -eps / beta_t.
-- Default weight beta_t^2 (the usual lambda(t) = sigma_t^2): without it the
-- target's variance 1 / beta^2 is not integrable in t near t = 1 and the loss
-- has unbounded variance; with it each term is ||beta s + eps||^2.
function M.dsm(model, path, z, a4, a5)
  local opts, t, eps, labels = setup("fm.loss.dsm", model, path, z, a4, a5)
  local xt = path:sample(z, t, eps)
  local beta = clamped_beta(path, t)
  local target = -eps / beta
  local pred = M.predict(model, xt, t, opts, labels)
  local o = opts
  if not opts.weight then
    o = setmetatable({weight = function() return beta * beta end}, {__index = opts})
  end
  return reduce(pred, target, t, o),
    {t = t, xt = xt, target = target, eps = eps, pred = pred, labels = labels}
end

--- Noise prediction: the model predicts eps; target eps. The score it
-- implies is s = -eps_hat / beta_t (fm.loss.eps_to_score, or
-- path:convert(eps_hat, x, t, "eps", "score")).
function M.noise(model, path, z, a4, a5)
  local opts, t, eps, labels = setup("fm.loss.noise", model, path, z, a4, a5)
  local xt = path:sample(z, t, eps)
  local pred = M.predict(model, xt, t, opts, labels)
  return reduce(pred, eps, t, opts),
    {t = t, xt = xt, target = eps, eps = eps, pred = pred, labels = labels}
end

--- s = -eps_hat / beta_t (t a number or an (n, 1) column; clamped as above)
function M.eps_to_score(path, eps_hat, t)
  if type(t) == "number" then
    return -eps_hat / path:beta(math.min(math.max(t, M.t_eps), 1 - M.t_eps))
  end
  return -eps_hat / clamped_beta(path, t:reshape(#eps_hat, 1))
end

return M
