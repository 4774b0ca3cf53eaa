-- jvp_spec.lua — every forward-mode rule (scripts/fm/autograd/jvp.lua)
-- against central differences of the function along the tangent, in
-- float64: (f(x + e u) - f(x - e u)) / 2e with e = 1e-6 has truncation error
-- O(e^2 f''') ~ 1e-12 and rounding error O(1e-16 / e) ~ 1e-10, so 1e-7
-- relative to the largest entry. The ops of op_cases.lua, as autograd_spec.lua.
local fm = require "fm"

local src = os.getenv("FM_SOURCE_DIR") or "."
local cases = dofile(src .. "/tests/lua/op_cases.lua")
local function X(...) fm.seed(11); return fm.randn(...):double() end

local function check(name, fn, inputs)
  it(name, function()
    local ts = {}
    for i, x in ipairs(inputs) do ts[i] = fm.randn(x:shape(), "float64") end
    local y, jv = fm.jvp(fn, inputs, ts)
    local e = 1e-6
    local up, dn = {}, {}
    for i, x in ipairs(inputs) do up[i] = x + ts[i] * e; dn[i] = x - ts[i] * e end
    local fd = (fn(table.unpack(up)) - fn(table.unpack(dn))) / (2 * e)
    local err = (jv - fd):abs():max():item() / math.max(1, fd:abs():max():item())
    assert(err < 1e-7, name .. ": jvp error " .. err)
    assert.tensor_near(fn(table.unpack(inputs)), y, 0)
  end)
end

describe("forward rule of every op against central differences", function()
  for _, c in ipairs(cases(11)) do check(c[1], c[2], c[3]) end
end)

describe("forward mode through fields", function()
  it("a jvp through fm.field(net) equals the network's on [x, t]", function()
    local net = fm.nn.mlp{inputs = 3, hidden = {8}, outputs = 2, dtype = "float64"}
    local field = fm.field(net)
    local x, u = X(5, 2), X(5, 2)
    local _, j1 = fm.jvp(function(z) return field(z, 0.3) end, {x}, {u})
    local t = fm.full({5, 1}, 0.3, "float64")
    local _, j2 = fm.jvp(function(z) return net(fm.cat({z, t}, 2)) end, {x}, {u})
    assert.tensor_near(j2, j1, 1e-14)
  end)
  it("a jvp with create_graph of a plain op chain is differentiable", function()
    local ok, msg = fm.gradcheck(function(x)
      local _, jv = fm.jvp(function(z) return (z * x):tanh():exp() end, {x}, {x * 0 + 1},
                           {create_graph = true})
      return jv
    end, {X(3)})
    assert(ok, msg)
  end)
end)
