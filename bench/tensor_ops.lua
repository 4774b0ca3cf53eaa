-- bench/tensor_ops.lua — fmlua side of the tensor benchmark (issue 2):
-- SGEMM GFLOP/s through x:mm(w) on 4096x256 @ 256x256 and 1024^3 (and the
-- backward's A^T B shape), and a chain of five elementwise ops on 1M float32
-- elements, y = sqrt(exp(x * 2 + 1) - x), a new tensor per op as in NumPy.
-- Usage: fmlua bench/tensor_ops.lua [repeats] [target_seconds]
package.path = "bench/?.lua;" .. package.path
local fm = require "fm"
local B = require "lib"

local repeats = tonumber(arg[1]) or 7
local target = tonumber(arg[2]) or 0.5
B.env_header()
fm.seed(0)

local shapes = {{4096, 256, 256, "nn"}, {1024, 1024, 1024, "nn"}, {256, 256, 4096, "tn"}}
for _, s in ipairs(shapes) do
  local M, N, K, op = s[1], s[2], s[3], s[4]
  local a = op == "tn" and fm.randn(K, M):t() or fm.randn(M, K)
  local b = fm.randn(K, N)
  local flop = 2.0 * M * N * K
  local fn = function() return a:mm(b) end
  for _ = 1, 3 do fn() end
  local g = {}
  for i, r in ipairs(B.rates(fn, repeats, target)) do g[i] = flop * r / 1e9 end
  B.emit_stats(string.format("gemm_fmlua_%dx%dx%d%s", M, K, N, op == "tn" and "_tn" or ""),
    g, "GFLOP/s")
end

local x = fm.randn(1000000)
local chain = function() return ((x * 2 + 1):exp() - x):sqrt() end
for _ = 1, 3 do chain() end
local t = {}
for i, r in ipairs(B.rates(chain, repeats, target)) do t[i] = 1e3 / r end
B.emit_stats("elementwise5_fmlua_1M", t, "ms")
