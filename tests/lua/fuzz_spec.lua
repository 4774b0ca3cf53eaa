-- Fuzzing the tensor API: thousands of random calls with random shapes,
-- dtypes, layouts and arguments. Each must return or raise a Lua error with a
-- message; a crash, an abort or a sanitizer report fails the run.
local fm = require "fm"

local methods = {
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt", "ge",
  "exp", "log", "sqrt", "sin", "tanh", "sigmoid", "silu", "relu", "gelu",
  "softplus", "abs", "clamp", "sum", "mean", "max", "min", "argmax", "var",
  "norm", "logsumexp", "softmax", "mm", "bmm", "cdist2", "narrow", "select",
  "t", "transpose", "permute", "reshape", "view", "expand", "unsqueeze",
  "squeeze", "index", "gather", "scatter_add", "index_add", "clone",
  "contiguous", "copy", "fill", "float", "double", "long", "totable", "item",
  "shape", "numel", "sum_to", "add_", "mul_", "clamp_", "detach", "isnan",
}
local functions = {"cat", "stack", "where", "allclose", "zeros", "ones", "full",
  "arange", "linspace", "eye", "tensor", "randn", "rand", "randint", "zeros_like"}

local rand = math.random

local function random_shape()
  local nd = rand(0, 4)
  local s = {}
  for i = 1, nd do s[i] = rand(0, 4) end
  return s
end

local dtypes = {"float32", "float64", "int64"}

local function random_tensor()
  local s = random_shape()
  local dt = dtypes[rand(1, 3)]
  local t
  if dt == "int64" then t = fm.randint(-3, 5, s) else t = fm.randn(s):to(dt) end
  local r = rand(1, 4)
  if r == 1 and t:dim() >= 2 then t = t:transpose(1, t:dim()) end
  if r == 2 and t:dim() >= 1 and t:shape(1) > 1 then t = t:narrow(1, 2, t:shape(1) - 1) end
  if r == 3 and t:dim() >= 1 then t = t:unsqueeze(1):expand(2, table.unpack(t:shape())) end
  return t
end

local function random_arg()
  local r = rand(1, 10)
  if r <= 3 then return random_tensor()
  elseif r <= 6 then return rand(-5, 5)
  elseif r == 7 then return rand() * 10 - 5
  elseif r == 8 then return random_shape()
  elseif r == 9 then return ({"float64", "bogus", "", "int64"})[rand(1, 4)]
  else return ({nil, true, {}, 0 / 0, math.huge})[rand(1, 5)] end
end

describe("fuzzing the tensor API", function()
  it("survives random calls with an error or a result", function()
    math.randomseed(12345)
    fm.seed(1)
    local ok_count, err_count = 0, 0
    for _ = 1, 6000 do
      local args = {}
      for i = 1, rand(0, 4) do args[i] = random_arg() end
      local ok, err
      if rand() < 0.8 then
        local self = random_tensor()
        local m = methods[rand(1, #methods)]
        ok, err = pcall(function() return self[m](self, table.unpack(args, 1, 4)) end)
      else
        local f = functions[rand(1, #functions)]
        if f == "cat" or f == "stack" then
          args[1] = {random_tensor(), random_tensor()}
        end
        ok, err = pcall(fm[f], table.unpack(args, 1, 4))
      end
      if ok then ok_count = ok_count + 1 else
        err_count = err_count + 1
        assert.is_string(err)
      end
    end
    assert.is_true(ok_count > 300, "too few calls succeeded: " .. ok_count)
    assert.is_true(err_count > 300, "too few calls failed: " .. err_count)
  end)
end)
