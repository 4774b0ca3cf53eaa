-- fm.autograd.rules — every reverse-mode rule: rules[op](node, g, out)
-- returns the gradients of the node's entries (nil where none), for the
-- graph the bindings record (bindings/core/autograd.c; a node is
--   { op = "mul", [1] = a, [2] = b, saved = {...} }).
-- The rules are written with fm's own differentiable ops, so a backward
-- pass run with create_graph = true is itself recorded (gradients of
-- gradients). The rule "layer" calls the layer's C backward
-- (engine/nn/layer.h), one call per layer; under create_graph it
-- differentiates the layer's composed form (fm.autograd.composed) instead.
local fm = require "fm"

local rules = {}

local function shape_of(t) return t:shape() end

-- the adjoint of broadcasting: g summed down to x's shape
local function unbroadcast(g, x)
  local gs, xs = g:shape(), x:shape()
  if #gs == #xs then
    local same = true
    for i = 1, #gs do if gs[i] ~= xs[i] then same = false; break end end
    if same then return g end
  end
  return g:sum_to(xs)
end

-- ---- elementwise binary -------------------------------------------------
function rules.add(n, g) return unbroadcast(g, n[1]), unbroadcast(g, n[2]) end
function rules.sub(n, g) return unbroadcast(g, n[1]), unbroadcast(-g, n[2]) end
function rules.mul(n, g)
  return unbroadcast(g * n[2], n[1]), unbroadcast(g * n[1], n[2])
end
function rules.div(n, g)
  local a, b = n[1], n[2]
  return unbroadcast(g / b, n[1]), unbroadcast(-(g * a) / (b * b), n[2])
end
function rules.pow(n, g)
  local a, b = n[1], n[2]
  local ga = g * b * a ^ (b - 1)
  local gb = g * (a ^ b) * a:log()
  return unbroadcast(ga, a), unbroadcast(gb, b)
end
function rules.maximum(n, g)
  local m = n[1]:ge(n[2])
  return unbroadcast(g * m, n[1]), unbroadcast(g * (1 - m), n[2])
end
function rules.minimum(n, g)
  local m = n[1]:le(n[2])
  return unbroadcast(g * m, n[1]), unbroadcast(g * (1 - m), n[2])
end
function rules.atan2(n, g)
  local a, b = n[1], n[2]
  local r = a * a + b * b
  return unbroadcast(g * b / r, a), unbroadcast(-(g * a) / r, b)
end

-- tensor op number, and number op tensor ("r" prefix)
function rules.add_scalar(_, g) return g end
rules.radd_scalar = rules.add_scalar
rules.sub_scalar = rules.add_scalar
function rules.rsub_scalar(_, g) return -g end
function rules.mul_scalar(n, g) return g * n.saved[1] end
rules.rmul_scalar = rules.mul_scalar
function rules.div_scalar(n, g) return g / n.saved[1] end
function rules.rdiv_scalar(n, g)
  local a = n[1]
  return -(g * n.saved[1]) / (a * a)
end
function rules.pow_scalar(n, g)
  local s, a = n.saved[1], n[1]
  if s == 2 then return g * a * 2 end
  if s == 1 then return g end
  return g * s * a ^ (s - 1)
end
function rules.rpow_scalar(n, g)
  local s, a = n.saved[1], n[1]
  return g * (s ^ a) * math.log(s)
end

-- ---- elementwise unary ----------------------------------------------------
function rules.neg(_, g) return -g end
function rules.exp(n, g) return g * n.saved[1] end
function rules.log(n, g) return g / n[1] end
function rules.sqrt(n, g) return g * 0.5 / n.saved[1] end
function rules.sin(n, g) return g * n[1]:cos() end
function rules.cos(n, g) return -(g * n[1]:sin()) end
function rules.tanh(n, g)
  local y = n.saved[1]
  return g * (1 - y * y)
end
function rules.sigmoid(n, g)
  local y = n.saved[1]
  return g * y * (1 - y)
end
function rules.silu(n, g) return g * n[1]:silu_grad() end
function rules.relu(n, g) return g * n[1]:relu_grad() end
function rules.gelu(n, g) return g * n[1]:gelu_grad() end
function rules.softplus(n, g) return g * n[1]:sigmoid() end
function rules.abs(n, g) return g * n[1]:sign() end
function rules.square(n, g) return g * n[1] * 2 end
function rules.reciprocal(n, g)
  local a = n[1]
  return -g / (a * a)
end
function rules.log1p(n, g) return g / (n[1] + 1) end
function rules.expm1(n, g) return g * n[1]:exp() end
function rules.clamp(n, g)
  local a, lo, hi = n[1], n.saved[1], n.saved[2]
  return g * a:ge(lo) * a:le(hi)
end
function rules.where(n, g)
  local c = n.saved[1]
  return unbroadcast(fm.where(c, g, 0), n[1]), unbroadcast(fm.where(c, 0, g), n[2])
end
-- derivatives of activations (second-order terms, for create_graph)
function rules.silu_grad(n, g)
  local x = n[1]
  local s = x:sigmoid()
  return g * s * (1 - s) * (x * (1 - 2 * s) + 2)
end
function rules.sigmoid_grad(n, g)
  local s = n[1]:sigmoid()
  return g * s * (1 - s) * (1 - 2 * s)
end
function rules.tanh_grad(n, g)
  local y = n[1]:tanh()
  return g * (y * (1 - y * y)) * -2
end
function rules.relu_grad(n, g) return g * 0 end
-- gelu (tanh form): g(x) = x/2 (1 + tanh u), u = c (x + k x^3), c = sqrt(2/pi),
-- k = 0.044715; g''(x) = (1 - T^2) (u' - x T u'^2 + x u''/2), T = tanh u,
-- u' = c (1 + 3 k x^2), u'' = 6 c k x.
function rules.gelu_grad(n, g)
  local x = n[1]
  local c, k = math.sqrt(2 / math.pi), 0.044715
  local T = ((x + x ^ 3 * k) * c):tanh()
  local du = (x * x * (3 * k) + 1) * c
  local d2u = x * (6 * c * k)
  return g * (1 - T * T) * (du - x * T * du * du + x * d2u * 0.5)
end
function rules.softplus_grad(n, g)
  local s = n[1]:sigmoid()
  return g * s * (1 - s)
end

-- ---- conversions and copies -------------------------------------------------
function rules.clone(_, g) return g end
function rules.to_dtype(n, g) return g:to(n[1]:dtype()) end
function rules.sum_to(n, g) return g:expand(n.saved[1]) end

-- ---- reductions ---------------------------------------------------------------
-- saved = {dim (0 = all), keepdim, param, out}
local function expand_back(n, g)
  local a, dim, keepdim = n[1], n.saved[1], n.saved[2]
  if dim ~= 0 and not keepdim then g = g:unsqueeze(dim) end
  if dim == 0 then g = g:reshape(g:numel() == 1 and {} or g:shape()) end
  return g:expand(a:shape())
end
local function count(n)
  local a, dim = n[1], n.saved[1]
  return dim == 0 and a:numel() or a:shape(dim)
end
function rules.sum(n, g) return expand_back(n, g) end
function rules.mean(n, g) return expand_back(n, g) / count(n) end
function rules.prod(n, g)
  local out = n.saved[4]
  return expand_back(n, g) * expand_back(n, out) / n[1]
end
local function minmax(n, g)
  local a, dim = n[1], n.saved[1]
  local out = expand_back(n, n.saved[4])
  local mask = a:eq(out)
  local cnt = dim == 0 and mask:sum() or mask:sum(dim, true)
  return expand_back(n, g) * mask / cnt
end
rules.max, rules.min = minmax, minmax
function rules.var(n, g)
  local a, dim, correction = n[1], n.saved[1], n.saved[3]
  local mean = dim == 0 and a:mean() or a:mean(dim, true)
  return expand_back(n, g) * (a - mean) * (2 / (count(n) - correction))
end
function rules.norm(n, g)
  local a, p = n[1], n.saved[3]
  local out = expand_back(n, n.saved[4])
  if p == 2 then return expand_back(n, g) * a / out end
  return expand_back(n, g) * a:sign() * a:abs() ^ (p - 1) / out ^ (p - 1)
end
function rules.logsumexp(n, g)
  local out = expand_back(n, n.saved[4])
  return expand_back(n, g) * (n[1] - out):exp()
end
function rules.softmax(n, g)
  local dim, y = n.saved[1], n.saved[2]
  return y * (g - (g * y):sum(dim, true))
end
function rules.log_softmax(n, g)
  local dim, y = n.saved[1], n.saved[2]
  return g - y:exp() * g:sum(dim, true)
end

-- ---- products -------------------------------------------------------------------
function rules.mm(n, g) return g:mm(n[2]:t()), n[1]:t():mm(g) end
function rules.bmm(n, g)
  return g:bmm(n[2]:transpose(2, 3)), n[1]:transpose(2, 3):bmm(g)
end
-- D_ij = |a_i - b_j|^2: dD/da_i = 2 sum_j g_ij (a_i - b_j)
function rules.cdist2(n, g)
  local a, b = n[1], n[2]
  local ga = (a * g:sum(2, true) - g:mm(b)) * 2
  local gb = (b * g:sum(1):reshape(-1, 1) - g:t():mm(a)) * 2
  return ga, gb
end

-- ---- views and indexing -------------------------------------------------------------
-- g placed into zeros of a's shape along dim at [start, start + len)
local function pad_along(a, g, dim, start, len)
  local parts = {}
  local shape = a:shape()
  local before, after = start - 1, shape[dim] - (start - 1 + len)
  local function zeros(size)
    local s = {}
    for i = 1, #shape do s[i] = shape[i] end
    s[dim] = size
    return fm.zeros(s, g:dtype())
  end
  if before > 0 then parts[#parts + 1] = zeros(before) end
  parts[#parts + 1] = g
  if after > 0 then parts[#parts + 1] = zeros(after) end
  return #parts == 1 and g or fm.cat(parts, dim)
end
function rules.narrow(n, g)
  local s = n.saved
  return pad_along(n[1], g, s[1], s[2], s[3])
end
function rules.select(n, g)
  local dim, index = n.saved[1], n.saved[2]
  return pad_along(n[1], g:unsqueeze(dim), dim, index, 1)
end
function rules.transpose(n, g) return g:transpose(n.saved[1], n.saved[2]) end
function rules.permute(n, g)
  local perm, inv = n.saved[1], {}
  for i, p in ipairs(perm) do inv[p] = i end
  return g:permute(inv)
end
function rules.reshape(n, g) return g:reshape(n.saved[1]) end
function rules.expand(n, g) return g:sum_to(n.saved[1]) end
function rules.index(n, g)
  local a = n[1]
  return fm.zeros(a:shape(), g:dtype()):index_add(n.saved[1], n.saved[2], g)
end
function rules.gather(n, g)
  local a = n[1]
  return fm.zeros(a:shape(), g:dtype()):scatter_add(n.saved[1], n.saved[2], g)
end
function rules.scatter_add(n, g) return g, g:gather(n.saved[1], n.saved[2]) end
function rules.index_add(n, g) return g, g:index(n.saved[1], n.saved[2]) end
function rules.cat(n, g)
  local dim, sizes = n.saved[1], n.saved[2]
  local out, start = {}, 1
  for i = 1, #sizes do
    out[i] = g:narrow(dim, start, sizes[i])
    start = start + sizes[i]
  end
  return table.unpack(out, 1, #sizes)
end

function rules.released()
  error("backward: the graph was already released by an earlier backward " ..
        "(pass {retain_graph = true} to the first one)", 0)
end

function rules.alias(_, g) return g end

-- One node per layer: {x1, ..., xn, p1, ..., pm, saved = {layer, saved
-- state, generation, n}}. The C backward accumulates into fresh buffers;
-- under create_graph (or when an mlp's workspace was reused by a later
-- forward) the gradients come from differentiating the composed form.
function rules.layer(node, g)
  local layer = node.saved[1]
  if not fm.is_grad_enabled() then
    local res = table.pack(layer:backward(node, g))
    if res[1] ~= nil or res.n > 1 then return table.unpack(res, 1, res.n) end
  end
  local composed = require "fm.autograd.composed"
  return composed.vjp(node, g)
end

return rules
