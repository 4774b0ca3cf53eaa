--- Terminal Velocity Matching (Zhou et al. 2025) in fmlua's time convention
-- (docs/math.md §9.3).
--
--   local tvm = fm.fewstep.tvm(net, {ema = 0.99, detach_jvp = false})
--   local loss, ex = tvm:loss(path, z [, labels] [, opts])   -- labels as fm.loss takes them
--   opt:zero_grad(); loss:backward(); opt:step(); tvm:update()
--
-- The network defines the map f(x_s, s, t) = x_s + (t - s) F(x_s, s, t). The
-- exact map's derivative in its terminal time is the velocity where it
-- lands, d/dt f(x_s, s, t) = v(f(x_s, s, t), t). TVM regresses
-- d/dt f = F + (t - s) dF/dt (one forward-mode product, tangent 1 on the t
-- input only) onto sg(F_ema(f, t, t)), the instantaneous velocity of an EMA
-- copy of the network at the landing point, and adds the flow-matching term
-- ||F(x_t, t, t) - u_t(x_t | z)||^2 at zero gap, on the same (z, eps) at the
-- terminal time. By default the gradient flows through the JVP too (reverse
-- over forward mode: fm.jvp{create_graph = true}); detach_jvp = true treats
-- dF/dt as a constant (cheaper, biased).
-- tvm opts: ema (decay of the target copy, default 0.99; 0 = the current
-- weights under a stop-gradient), detach_jvp (default false).
-- loss opts (all optional): eps, s, t, time, equal (default 0.25),
--   labels, adaptive ({p =, c =} weights on the terminal term, default
--   false), fm_weight (weight of the flow-matching term, default 1).
-- Returns the loss and extras {s, t, x, landing, target, terminal, fm,
-- mse}: the mean terminal and flow-matching errors as numbers.
local fm = require "fm"
local args = require "fm.args"
local fs = require "fm.fewstep"

local M = {}
local TVM = {}
TVM.__index = TVM

local function parameters_of(net)
  if type(net) == "table" and net.parameters then return net:parameters() end
  error("fm.fewstep.tvm: net must be a module with parameters (fm.nn.*)", 3)
end

function M.new(net, opts)
  args.check("fm.fewstep.tvm", 1, "net", net, "callable|object")
  opts = args.opts("fm.fewstep.tvm", 2, opts)
  local decay = opts.ema or 0.99
  if type(decay) ~= "number" or decay ~= decay or decay < 0 or decay >= 1 then
    error("fm.fewstep.tvm: ema must be a decay in [0, 1), got " .. tostring(decay), 2)
  end
  local self = setmetatable({net = net, decay = decay, detach_jvp = opts.detach_jvp == true},
                            TVM)
  if decay > 0 then self.target = fm.optim.ema(parameters_of(net), decay) end
  return self
end

-- the fused MLP's layer when net is an fm.nn.mlp whose parameters are its
-- flat parameters in order (then the EMA averages can be applied directly)
local function fused_layer(net)
  if type(net) ~= "table" or not net.flat_params or not net:fused() then return nil end
  local a, b = net:parameters(), net:flat_params()
  if #a ~= #b then return nil end
  for i = 1, #a do if not rawequal(a[i], b[i]) then return nil end end
  return net:fused()
end

--- the EMA copy's instantaneous velocity F_ema(x, t, t), without a graph:
-- for the fused MLP, its layer applied to the averages; else the averages
-- swapped into the network for the call
function TVM:target_velocity(x, t, y)
  local e = self.target
  if e and self.fused == nil then self.fused = fused_layer(self.net) or false end
  if e and self.fused then
    return fm.no_grad(function() return self.fused:apply(e.averages, fm.cat({x, t, t}, 2)) end)
  end
  return fm.no_grad(function()
    if e then e:swap() end
    local ok, v = pcall(fs.call, self.net, x, t, t, y)
    if e then e:swap() end
    if not ok then error(v, 0) end
    return v
  end)
end

function TVM:loss(path, z, a3, a4)
  args.check("tvm:loss", 1, "path", path, "object")
  args.check("tvm:loss", 2, "z", z, "tensor")
  local y, opts = args.labels_and_opts("tvm:loss", 3, z, a3, a4)
  local net, n, dt = self.net, z:size(1), z:dtype()
  local s, t = fs.times_of(n, {s = opts.s, t = opts.t, time = opts.time,
                               equal = opts.equal or 0.25}, dt)
  local eps = fs.noise_of(z, opts)
  local x = fs.on_path(path, z, eps, s)
  local F, dF = fm.jvp(function(xx, ss, tt) return fs.call(net, xx, ss, tt, y) end,
                       {x, s, t}, {nil, nil, fm.ones_like(t)},
                       {create_graph = not self.detach_jvp})
  local gap = fs.rows(t - s, z)
  local landing = x + gap * F
  local dfdt = F + gap * dF
  local target = self:target_velocity(landing:detach(), t, y)
  local terminal, tsq = fs.reduce(dfdt - target, opts.adaptive)
  local xt, vt = fs.on_path(path, z, eps, t)
  local fmloss, fsq = fs.reduce(fs.call(net, xt, t, t, y) - vt, false)
  local loss = terminal + fmloss * (opts.fm_weight or 1)
  return loss, {s = s, t = t, x = x, landing = landing:detach(), target = target,
                terminal = tsq:detach():mean():item(), fm = fsq:detach():mean():item(),
                mse = tsq:detach():mean():item() + fsq:detach():mean():item()}
end

--- after each optimiser step: move the target copy towards the weights
function TVM:update()
  if self.target then self.target:update() end
end

--- the target copy's state for checkpoints ({["ema.<name>"] = tensor})
function TVM:state_dict()
  return self.target and self.target:state_dict() or {}
end

return M
