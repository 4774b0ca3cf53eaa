--- fm.likelihood(field, x, opts) -> log p (n,) in nats (docs/math.md §6).
--
--   opts: exact = true (default: d vector-Jacobian products per evaluation)
--         or probes = k (Hutchinson's estimator eps^T J eps with k Rademacher
--         probes drawn once per call and kept along the path), steps = 100,
--         method = "rk4" | "midpoint" | "heun" | "euler", t0 = 0, t1 = 1,
--         fd_step = 1e-4 (see below).
-- The state (x, l) is integrated backwards from t1 (data) to t0 (noise) with
-- dx/dt = u(x, t), dl/dt = div u(x, t), l(t1) = 0; then
-- log p_1(x) = log N(X_0; 0, I) + l(t0) = log p_0(X_0) - int_0^1 div u dt
-- (d/dt log p_t(X_t) = -div u; docs/math.md §6; the internal note had a + sign,
-- which contradicts its first line and the exact mixture test).
-- The divergence uses autograd (fm.grad of u with respect to x). A field
-- whose output does not require grad (a C field such as path:marginal(gmm))
-- gets central differences in float64 instead: d pairs of evaluations, error
-- O(fd_step^2) (about 1e-8 for smooth fields), so "exact" to far below the
-- integrator's error.
--   fm.likelihood.bpd(logp, d [, bins]) -> bits per dimension,
--   -(logp - d log(bins)) / (d log 2) (bins: quantisation levels of
--   dequantised data, omitted for continuous data).
local fm = require "fm"
local args = require "fm.args"

local M = {}

local function onehot_cols(n, d, i, dtype)
  local e = fm.zeros({n, d}, dtype)
  e:narrow(2, i, 1):fill(1)
  return e
end

local function div_fd(f, x, t, h)
  local n, d = x:size(1), x:size(2)
  local div = fm.zeros({n}, "float64")
  for i = 1, d do
    local e = onehot_cols(n, d, i, "float64") * h
    local up, dn = f(x + e, t), f(x - e, t)
    div = div + (up - dn):narrow(2, i, 1):reshape(n):double() / (2 * h)
  end
  return div
end

-- u(x, t) and div u (n,) at one point of the path.
local function eval(f, x, t, o)
  local xg = x:detach():requires_grad_()
  local u = f(xg, t)
  if not u.requires_grad then
    return u:detach(), div_fd(f, x:double(), t, o.fd_step or 1e-4):to(x:dtype())
  end
  local n, d = x:size(1), x:size(2)
  local div
  if o.probes then
    div = fm.zeros({n}, x:dtype())
    for k, eps in ipairs(o.eps) do
      local g = fm.grad(u, xg, {grad_outputs = eps, retain_graph = k < #o.eps})
      div = div + (g * eps):sum(2) / #o.eps
    end
  else
    div = fm.zeros({n}, x:dtype())
    for i = 1, d do
      local g = fm.grad(u, xg, {grad_outputs = onehot_cols(n, d, i, x:dtype()),
                                retain_graph = i < d})
      div = div + g:narrow(2, i, 1):reshape(n)
    end
  end
  return u:detach(), div
end

local TABLEAU = {
  euler = {c = {0}, a = {{}}, b = {1}},
  midpoint = {c = {0, 0.5}, a = {{}, {0.5}}, b = {0, 1}},
  heun = {c = {0, 1}, a = {{}, {1}}, b = {0.5, 0.5}},
  rk4 = {c = {0, 0.5, 0.5, 1}, a = {{}, {0.5}, {0, 0.5}, {0, 0, 1}}, b = {1/6, 1/3, 1/3, 1/6}},
}

local function likelihood(f, x, opts)
  args.check("fm.likelihood", 1, "f", f, "callable|object")
  args.check("fm.likelihood", 2, "x", x, "tensor|table")
  opts = args.opts("fm.likelihood", 3, opts)
  local o = {probes = opts.probes, fd_step = opts.fd_step}
  if opts.exact and opts.probes then error("fm.likelihood: exact and probes exclude each other", 2) end
  local tab = TABLEAU[opts.method or "rk4"] or error("fm.likelihood: unknown method " .. tostring(opts.method), 2)
  x = (fm.is_tensor(x) and x or fm.tensor(x)):detach()
  local n, d = x:size(1), x:size(2)
  if o.probes then
    o.eps = {}
    for k = 1, o.probes do o.eps[k] = fm.randint(0, 1, {n, d}):to(x:dtype()) * 2 - 1 end
  end
  local steps, t0, t1 = opts.steps or 100, opts.t0 or 0, opts.t1 or 1
  if type(steps) ~= "number" or steps ~= steps or steps < 1 or steps == math.huge
     or steps ~= math.floor(steps) then
    error("fm.likelihood: steps must be an integer >= 1, got " .. tostring(steps), 2)
  end
  local h = (t0 - t1) / steps
  local l = fm.zeros({n}, x:dtype())
  for s = 0, steps - 1 do
    -- grid times from the ends, not by accumulation: the last stage lands
    -- on t0 exactly (t + h can be -7e-17, outside a schedule's [0, 1])
    local t, t_next = t1 + (t0 - t1) * s / steps, t1 + (t0 - t1) * (s + 1) / steps
    local ku, kl = {}, {}
    for i = 1, #tab.c do
      local xi = x
      for j, a in ipairs(tab.a[i]) do
        if a ~= 0 then xi = xi + ku[j] * (h * a) end
      end
      local c = tab.c[i]
      ku[i], kl[i] = eval(f, xi, c == 1 and t_next or t + c * (t_next - t), o)
    end
    for i, b in ipairs(tab.b) do
      if b ~= 0 then x = x + ku[i] * (h * b); l = l + kl[i] * (h * b) end
    end
    -- bad numbers stop here, naming the step (docs/reliability.md)
    if x:isfinite():min():item() == 0 or l:isfinite():min():item() == 0 then
      error(string.format("fm.likelihood: step %d (t = %g -> %g): non-finite %s; the field "
                          .. "(or its divergence) gave NaN or inf", s + 1, t, t_next,
                          x:isfinite():min():item() == 0 and "state" or "log-density"), 2)
    end
  end
  local logp0 = (x * x):sum(2) * -0.5 - d / 2 * math.log(2 * math.pi)
  return logp0 + l
end

function M.bpd(logp, d, bins)
  local lp = logp
  if bins then lp = lp - d * math.log(bins) end
  return lp * (-1 / (d * math.log(2)))
end

M.new = likelihood
return setmetatable(M, {__call = function(_, ...) return likelihood(...) end})
