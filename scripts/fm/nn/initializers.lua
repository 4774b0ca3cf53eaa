-- fm.nn.init — in-place initialisations (each fills t and returns it), with
-- torch.nn.init's formulas. Weights are (in, out) in fm (x:mm(W)), so for a
-- 2-D tensor fan_in = shape[1], fan_out = shape[2]; for a 1-D tensor both are
-- its length.
local fm = require "fm"

local init = {}

local function fill(t, f)
  fm.no_grad(function() f(t:detach()) end)
  return t
end

local function fans(t)
  local s = t:shape()
  if #s == 1 then return s[1], s[1] end
  local rest = 1
  for i = 3, #s do rest = rest * s[i] end
  return s[1] * rest, s[2] * rest
end
init.fans = fans

--- calculate_gain(nonlinearity [, param]) as torch.nn.init.calculate_gain.
function init.calculate_gain(nl, param)
  nl = nl or "linear"
  if nl == "linear" or nl == "identity" or nl == "none" or nl == "sigmoid" then return 1 end
  if nl == "tanh" then return 5 / 3 end
  if nl == "relu" then return math.sqrt(2) end
  if nl == "leaky_relu" then
    local a = param or 0.01
    return math.sqrt(2 / (1 + a * a))
  end
  if nl == "selu" then return 3 / 4 end
  if nl == "silu" or nl == "gelu" then return 1 end
  error("calculate_gain: unknown nonlinearity '" .. tostring(nl) .. "'", 2)
end

function init.zeros(t) return fill(t, function(x) x:zero() end) end
function init.ones(t) return fill(t, function(x) x:fill(1) end) end
function init.constant(t, v) return fill(t, function(x) x:fill(v) end) end
function init.uniform(t, a, b)
  a, b = a or 0, b or 1
  return fill(t, function(x) x:uniform_(a, b) end)
end
function init.normal(t, mean, std)
  return fill(t, function(x) x:normal_(mean or 0, std or 1) end)
end

--- xavier_uniform(t [, gain]): U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).
function init.xavier_uniform(t, gain)
  local fi, fo = fans(t)
  local a = (gain or 1) * math.sqrt(6 / (fi + fo))
  return init.uniform(t, -a, a)
end
--- xavier_normal(t [, gain]): N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
function init.xavier_normal(t, gain)
  local fi, fo = fans(t)
  return init.normal(t, 0, (gain or 1) * math.sqrt(2 / (fi + fo)))
end

local function kaiming_std(t, opts)
  opts = opts or {}
  local fi, fo = fans(t)
  local fan = (opts.mode == "fan_out") and fo or fi
  local gain = init.calculate_gain(opts.nonlinearity or "leaky_relu", opts.a or 0)
  return gain / math.sqrt(fan)
end
--- kaiming_uniform(t [, {a=0, mode="fan_in", nonlinearity="leaky_relu"}]):
-- U(-b, b), b = gain sqrt(3 / fan).
function init.kaiming_uniform(t, opts)
  local b = math.sqrt(3) * kaiming_std(t, opts)
  return init.uniform(t, -b, b)
end
--- kaiming_normal(t [, opts]): N(0, (gain / sqrt(fan))^2).
function init.kaiming_normal(t, opts)
  return init.normal(t, 0, kaiming_std(t, opts))
end

return init
