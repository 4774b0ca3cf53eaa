-- Shared busted helper: loads fm and registers tensor assertions.
local fm = require "fm"
local say = require "say"
local assert = require "luassert"

-- assert.tensor_near(expected, actual, tol): same shape, |a - e| <= tol elementwise.
local function tensor_near(_, args)
  local expected, actual, tol = args[1], args[2], args[3] or 1e-6
  if type(expected) == "table" then expected = fm.tensor(expected, "float64") end
  if type(actual) == "table" then actual = fm.tensor(actual, "float64") end
  local es, as = expected:shape(), actual:shape()
  if #es ~= #as then return false end
  for i = 1, #es do if es[i] ~= as[i] then return false end end
  local ea, aa = expected:totable(), actual:totable()
  local function walk(e, a)
    if type(e) == "number" then
      return math.abs(e - a) <= tol or (e ~= e and a ~= a)
    end
    for i = 1, #e do if not walk(e[i], a[i]) then return false end end
    return true
  end
  return walk(ea, aa)
end
say:set("assertion.tensor_near.positive", "Expected tensors to be near.\nExpected:\n%s\nActual:\n%s")
say:set("assertion.tensor_near.negative", "Expected tensors not to be near.\nExpected:\n%s\nActual:\n%s")
assert:register("assertion", "tensor_near", tensor_near,
  "assertion.tensor_near.positive", "assertion.tensor_near.negative")
