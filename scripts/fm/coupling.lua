-- fm.coupling — how a batch of data z is paired with a batch of source
-- points x0 (docs/math.md §4), and the Schrödinger-bridge-style path.
--
--   local z, x0 = fm.coupling.independent(z, source)
--   local z, x0, cost = fm.coupling.ot(z, source)   -- minibatch OT
--   local br = fm.coupling.bridge(0.1)              -- SB-CFM path, sigma 0.1
--   fm.loss.cfm(model, br, z, {x0 = x0})
--   local z, x0 = fm.coupling.sinkhorn(z, source, {eps = 0.02})  -- entropic OT
--   local sb = fm.coupling.sb(0.5)                  -- SB-CFM as TorchCFM has it
--   local z, x0 = sb:pair(z, source); fm.loss.cfm(model, sb.path, z, {x0 = x0})
--
-- source: an (n, d) tensor, anything with :sample(n) (fm.data sets,
-- fm.data.from_npy, ...), a function(n) -> tensor, or nil for N(0, I) in z's
-- dtype. A non-Gaussian source gives a data-to-data flow (moons -> 8
-- gaussians): with the linear path, x_t = t z + (1 - t) x0, target z - x0.
local fm = require "fm"
local args = require "fm.args"

local M = {}

--- the (n, d) source batch for z
function M.source(src, z)
  local n = #z
  local x0
  if src == nil then
    x0 = fm.randn(n, z:shape()[2], z:dtype())
  elseif fm.is_tensor(src) then
    x0 = src
  elseif type(src) == "function" then
    x0 = src(n)
  elseif src.sample then
    x0 = src:sample(n)   -- fm.data objects also return labels: dropped
  else
    error("fm.coupling: source must be a tensor, a sampler or a function(n)", 3)
  end
  local zs, xs = z:shape(), x0:shape()
  if #xs ~= 2 or xs[1] ~= zs[1] or xs[2] ~= zs[2] then
    error(("fm.coupling: source batch is (%s), data batch (%d, %d)"):format(
      table.concat(xs, ", "), zs[1], zs[2]), 3)
  end
  if x0:dtype() ~= z:dtype() then x0 = x0:to(z:dtype()) end
  return x0
end

--- z and x0 drawn apart: the pairs are as given.
function M.independent(z, src)
  return z, M.source(src, z)
end

--- Minibatch optimal transport: re-pair x0 with z by an exact assignment
-- minimising sum_i ||z_i - x0_perm(i)||^2 (fm.ot.match, a Jonker-Volgenant
-- solver in C). Returns z, the re-ordered x0 and the total squared cost.
function M.ot(z, src)
  local x0 = M.source(src, z)
  local perm, cost = fm.ot.match(z, x0)
  return z, x0:index(1, perm), cost
end

--- Entropic OT coupling (docs/math.md §4, "Entropic couplings"): the
-- Sinkhorn plan P between x0 (rows) and z (columns) under the squared
-- Euclidean cost, not normalised (as TorchCFM's OTPlanSampler by default),
-- with uniform weights; then #z pairs (i, j) drawn independently with
-- probability P_ij on fm's seeded generator. Returns z[j], x0[i] and the
-- solver's info (iters, err, converged, f, g). opts: eps (required), iters
-- (1000), tol (1e-6 on the L1 marginal error: far below what #z draws can
-- resolve), check (true: not converging is an error).
function M.sinkhorn(z, src, opts)
  if type(opts) ~= "table" or type(opts.eps) ~= "number" then
    error("fm.coupling.sinkhorn: opts.eps (a number > 0) expected", 2)
  end
  local x0 = M.source(src, z)
  local plan, _, info = fm.ot.sinkhorn(x0, z, {eps = opts.eps,
    iters = opts.iters or 1000, tol = opts.tol or 1e-6, check = opts.check})
  local i, j = fm.ot.sample_plan(plan, #z)
  return z:index(1, j), x0:index(1, i), info
end

local SB = {}
SB.__index = SB

--- SB-CFM as TorchCFM's SchrodingerBridgeConditionalFlowMatcher defines it
-- (Tong et al. 2023): pairs from the entropic plan with eps = 2 sigma^2 and
-- the Brownian-bridge path of diffusion sigma (M.bridge, below). opts:
-- iters, tol, check as M.sinkhorn; t_eps as M.bridge.
function M.sb(sigma, opts)
  opts = opts or {}
  if type(sigma) ~= "number" or not (sigma > 0) or sigma == math.huge then
    error("fm.coupling.sb: sigma must be a finite number > 0, got " .. tostring(sigma), 2)
  end
  return setmetatable({sigma = sigma, eps = 2 * sigma * sigma, opts = opts,
                       path = M.bridge(sigma, {t_eps = opts.t_eps})}, SB)
end

--- z and x0 re-paired by draws from the plan (see M.sinkhorn)
function SB:pair(z, src)
  local o = self.opts
  return M.sinkhorn(z, src, {eps = self.eps, iters = o.iters, tol = o.tol,
                             check = o.check})
end

function SB:__tostring()
  return ("fm.coupling.sb(%g): eps = %g"):format(self.sigma, self.eps)
end

-- ---- the Schrödinger-bridge-style path -----------------------------------
--
-- Given a pair (x0, z) and eps ~ N(0, I) (Tong et al. 2023, "Improving and
-- generalizing flow-based generative models with minibatch optimal
-- transport", SB-CFM):
--   x_t = mu_t + s_t eps,  mu_t = t z + (1 - t) x0,  s_t = sigma sqrt(t (1 - t))
-- (the Brownian bridge from x0 to z with diffusion sigma^2). The conditional
-- flow psi_t(eps) = mu_t + s_t eps generates it, so the conditional field is
--   u_t = d psi_t / dt = (z - x0) + s_t' eps,
--   s_t' = sigma (1 - 2t) / (2 sqrt(t (1 - t))),
-- and with eps = (x - mu_t) / s_t the x form of the paper,
--   u_t(x | x0, z) = (1 - 2t) / (2 t (1 - t)) (x - mu_t) + (z - x0).
-- kind = "constant" is I-CFM with sigma: s_t = sigma, u_t = z - x0.
--
-- Stability: s_t' and 1 / (t (1 - t)) are infinite at t = 0 and 1, so both
-- coefficients use t clamped into [t_eps, 1 - t_eps] (t_eps = 1e-5, as
-- path.h: |s_t'| <= 158 sigma); sample uses the exact t (x_0 = x0, x_1 = z).

local Bridge = {}
Bridge.__index = Bridge

function M.bridge(sigma, opts)
  args.check("fm.coupling.bridge", 1, "sigma", sigma, "number")
  opts = args.opts("fm.coupling.bridge", 2, opts)
  assert(type(sigma) == "number" and sigma >= 0, "fm.coupling.bridge: sigma >= 0 expected")
  local kind = opts.kind or "sb"
  assert(kind == "sb" or kind == "constant", "fm.coupling.bridge: kind is \"sb\" or \"constant\"")
  return setmetatable({sigma = sigma, kind = kind, is_bridge = true,
                       t_eps = opts.t_eps or 1e-5}, Bridge)
end

-- t as an (n, 1) column of z's dtype
local function column(t, z)
  local n = #z
  if type(t) == "number" then return fm.full({n, 1}, t, z:dtype()) end
  if t:numel() == 1 then return fm.full({n, 1}, t:item(), z:dtype()) end
  return t:reshape(n, 1):to(z:dtype())
end

function Bridge:mean(z, x0, t)
  local tc = column(t, z)
  return z * tc + x0 * (1 - tc)
end

--- s_t as an (n, 1) column (or a number for a number t)
function Bridge:std(t)
  if self.kind == "constant" then
    return type(t) == "number" and self.sigma or t * 0 + self.sigma
  end
  if type(t) == "number" then return self.sigma * math.sqrt(t * (1 - t)) end
  return (t * (1 - t)):clamp(0, 1):sqrt() * self.sigma
end

function Bridge:sample(z, x0, t, eps)
  local tc = column(t, z)
  eps = eps or fm.randn(#z, z:shape()[2], z:dtype())
  return self:mean(z, x0, tc) + eps * self:std(tc)
end

function Bridge:velocity_eps(z, x0, eps, t)
  if self.kind == "constant" then return z - x0 end
  local e = self.t_eps
  local tc = column(t, z):clamp(e, 1 - e)
  local ds = (1 - tc * 2) / ((tc * (1 - tc)):sqrt() * 2) * self.sigma
  return z - x0 + eps * ds
end

function Bridge:velocity(x, z, x0, t)
  if self.kind == "constant" then return z - x0 end
  local e = self.t_eps
  local tc = column(t, z)
  local mu = self:mean(z, x0, tc)
  tc = tc:clamp(e, 1 - e)
  return z - x0 + (x - mu) * ((1 - tc * 2) / (tc * (1 - tc) * 2))
end

function Bridge:__tostring()
  return ("fm.coupling.bridge(%g, %s)"):format(self.sigma, self.kind)
end

return M
