-- fm.autograd.jvp — forward-mode rules: fwd[op](node, out, T) returns the
-- tangent of the output of one recorded op from the tangents of its inputs
-- (T(x): x's tangent, nil for zero), for fm.jvp's true forward mode
-- (docs/math.md, "Forward mode"). A rule runs while the op records its
-- node (bindings/core/autograd.c), with tangent propagation suspended; under
-- fm.jvp{create_graph = true} it runs with grad mode on, so the tangents are
-- themselves differentiable by reverse mode.
-- For elementwise unary ops the Jacobian is diagonal, so the forward rule is
-- the reverse rule applied to the tangent (rules.lua). A layer node's rule
-- is the C tangent forward when the layer ran it (bindings/nn/layer.c);
-- under create_graph it is composed (fm.autograd.composed).
local fm = require "fm"
local rules = require "fm.autograd.rules"

local fwd = {}

-- a + b where nil stands for zero
local function plus(a, b)
  if a == nil then return b end
  if b == nil then return a end
  return a + b
end

-- t broadcast to out's shape (a tangent must have its tensor's shape)
local function full(t, out)
  if t == nil then return nil end
  local ts, os = t:shape(), out:shape()
  if #ts == #os then
    local same = true
    for i = 1, #ts do if ts[i] ~= os[i] then same = false; break end end
    if same then return t end
  end
  return t:expand(os)
end

-- ---- elementwise: unary ops (diagonal Jacobian: the reverse rule) ----------
for _, op in ipairs{"neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid",
                    "silu", "relu", "gelu", "softplus", "abs", "square", "reciprocal",
                    "log1p", "expm1", "clamp", "silu_grad", "sigmoid_grad", "tanh_grad",
                    "relu_grad", "gelu_grad", "softplus_grad", "add_scalar", "radd_scalar",
                    "sub_scalar", "rsub_scalar", "mul_scalar", "rmul_scalar", "div_scalar",
                    "rdiv_scalar", "pow_scalar", "rpow_scalar", "clone", "alias"} do
  local r = rules[op]
  fwd[op] = function(n, _, T)
    local t = T(n[1])
    if t == nil then return nil end
    return (r(n, t))
  end
end

-- ---- elementwise: binary ops with broadcasting --------------------------------
function fwd.add(n, o, T) return full(plus(T(n[1]), T(n[2])), o) end
function fwd.sub(n, o, T)
  local ta, tb = T(n[1]), T(n[2])
  return full(plus(ta, tb and -tb), o)
end
function fwd.mul(n, o, T)
  local ta, tb = T(n[1]), T(n[2])
  return full(plus(ta and ta * n[2], tb and n[1] * tb), o)
end
function fwd.div(n, o, T)
  local ta, tb = T(n[1]), T(n[2])
  local b = n[2]
  return full(plus(ta and ta / b, tb and -(o * tb) / b), o)
end
function fwd.pow(n, o, T)
  local a, b = n[1], n[2]
  local ta, tb = T(n[1]), T(n[2])
  return full(plus(ta and ta * b * a ^ (b - 1), tb and tb * o * a:log()), o)
end
local function select_rule(cmp)
  return function(n, o, T)
    local m = n[1][cmp](n[1], n[2])
    local ta, tb = T(n[1]), T(n[2])
    return full(plus(ta and ta * m, tb and tb * (1 - m)), o)
  end
end
fwd.maximum = select_rule("ge")
fwd.minimum = select_rule("le")
function fwd.atan2(n, o, T)
  local a, b = n[1], n[2]
  local ta, tb = T(a), T(b)
  local r = a * a + b * b
  return full(plus(ta and ta * b / r, tb and -(tb * a) / r), o)
end
function fwd.where(n, o, T)
  local ta, tb = T(n[1]), T(n[2])
  if ta == nil and tb == nil then return nil end
  return full(fm.where(n.saved[1], ta or 0, tb or 0), o)
end
function fwd.to_dtype(n, o, T)
  local t = T(n[1])
  return t and t:to(o:dtype())
end
function fwd.sum_to(n, o, T)
  local t = T(n[1])
  return t and t:sum_to(o:shape())
end

-- ---- reductions: saved = {dim (0 = all), keepdim, param, out} -----------------
local function reduce_sum(n, t)
  local dim, keepdim = n.saved[1], n.saved[2]
  if dim == 0 then return t:sum() end
  return t:sum(dim, keepdim)
end
-- the output broadcast back over the reduced dim
local function expand_back(n, v)
  local a, dim, keepdim = n[1], n.saved[1], n.saved[2]
  if dim ~= 0 and not keepdim then v = v:unsqueeze(dim) end
  if dim == 0 then v = v:reshape(v:numel() == 1 and {} or v:shape()) end
  return v:expand(a:shape())
end
local function count(n)
  local a, dim = n[1], n.saved[1]
  return dim == 0 and a:numel() or a:shape(dim)
end
function fwd.sum(n, _, T) local t = T(n[1]); return t and reduce_sum(n, t) end
function fwd.mean(n, _, T) local t = T(n[1]); return t and reduce_sum(n, t) / count(n) end
function fwd.prod(n, o, T)
  local t = T(n[1])
  return t and reduce_sum(n, t * expand_back(n, o) / n[1])
end
local function minmax(n, o, T)
  local t = T(n[1])
  if t == nil then return nil end
  local mask = n[1]:eq(expand_back(n, o))
  return reduce_sum(n, t * mask) / reduce_sum(n, mask)
end
fwd.max, fwd.min = minmax, minmax
function fwd.var(n, _, T)
  local t = T(n[1])
  if t == nil then return nil end
  local a, dim, correction = n[1], n.saved[1], n.saved[3]
  local mean = dim == 0 and a:mean() or a:mean(dim, true)
  return reduce_sum(n, (a - mean) * t) * (2 / (count(n) - correction))
end
function fwd.norm(n, o, T)
  local t = T(n[1])
  if t == nil then return nil end
  local a, p = n[1], n.saved[3]
  if p == 2 then return reduce_sum(n, a * t) / o end
  return reduce_sum(n, a:sign() * a:abs() ^ (p - 1) * t) / o ^ (p - 1)
end
function fwd.logsumexp(n, o, T)
  local t = T(n[1])
  return t and reduce_sum(n, (n[1] - expand_back(n, o)):exp() * t)
end
function fwd.softmax(n, _, T)
  local t = T(n[1])
  if t == nil then return nil end
  local dim, y = n.saved[1], n.saved[2]
  return y * (t - (y * t):sum(dim, true))
end
function fwd.log_softmax(n, _, T)
  local t = T(n[1])
  if t == nil then return nil end
  local dim, y = n.saved[1], n.saved[2]
  return t - (y:exp() * t):sum(dim, true)
end

-- ---- products ---------------------------------------------------------------------
function fwd.mm(n, _, T)
  local ta, tb = T(n[1]), T(n[2])
  return plus(ta and ta:mm(n[2]), tb and n[1]:mm(tb))
end
function fwd.bmm(n, _, T)
  local ta, tb = T(n[1]), T(n[2])
  return plus(ta and ta:bmm(n[2]), tb and n[1]:bmm(tb))
end
-- D_ij = |a_i - b_j|^2: dD = 2 (a_i - b_j) . (ta_i - tb_j)
function fwd.cdist2(n, _, T)
  local a, b = n[1], n[2]
  local ta, tb = T(a), T(b)
  local r
  if ta then r = ((a * ta):sum(2, true) - ta:mm(b:t())) * 2 end
  if tb then r = plus(r, ((b * tb):sum(2):reshape(1, -1) - a:mm(tb:t())) * 2) end
  return r
end

-- ---- views and indexing --------------------------------------------------------------
local function unary_view(f)
  return function(n, o, T)
    local t = T(n[1])
    return t and f(n, o, t)
  end
end
fwd.narrow = unary_view(function(n, _, t)
  return t:narrow(n.saved[1], n.saved[2], n.saved[3])
end)
fwd.select = unary_view(function(n, _, t) return t:select(n.saved[1], n.saved[2]) end)
fwd.transpose = unary_view(function(n, _, t) return t:transpose(n.saved[1], n.saved[2]) end)
fwd.permute = unary_view(function(n, _, t) return t:permute(n.saved[1]) end)
fwd.reshape = unary_view(function(_, o, t) return t:reshape(o:shape()) end)
fwd.expand = unary_view(function(_, o, t) return t:expand(o:shape()) end)
fwd.index = unary_view(function(n, _, t) return t:index(n.saved[1], n.saved[2]) end)
fwd.gather = unary_view(function(n, _, t) return t:gather(n.saved[1], n.saved[2]) end)
local function accumulate_rule(method)
  return function(n, _, T)
    local ta, ts = T(n[1]), T(n[2])
    if ta == nil and ts == nil then return nil end
    local base = ta or fm.zeros_like(n[1])
    if ts == nil then return base end
    return base[method](base, n.saved[1], n.saved[2], ts)
  end
end
fwd.scatter_add = accumulate_rule("scatter_add")
fwd.index_add = accumulate_rule("index_add")
function fwd.cat(n, _, T)
  local parts, any = {}, false
  for i = 1, #n do
    local t = T(n[i])
    if t then any = true end
    parts[i] = t or fm.zeros_like(n[i])
  end
  if not any then return nil end
  return fm.cat(parts, n.saved[1])
end

-- a layer whose tangent the C tangent forward did not give (create_graph)
function fwd.layer(n, o, T)
  return require("fm.autograd.composed").tangent(n, o, T)
end

return fwd
