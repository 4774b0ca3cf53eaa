-- dist_collectives.lua — fm.dist's collectives against values worked out
-- by hand, on any number of ranks N (tests/cli/dist.sh). Rank r contributes
-- (r + 1) * [1, 2, 3], so sums are N(N+1)/2 * [1, 2, 3], means (N+1)/2 *
-- [1, 2, 3], maxima N * [1, 2, 3], minima [1, 2, 3]. Each rank prints
-- "rank r: ok" when every check held; a failed check is an error (the job
-- then stops, tests/cli/dist.sh checks the exit status).
local fm = require "fm"
local dist = require "fm.dist"
local r, n = dist.init()
assert(r == dist.rank() and n == dist.size() and r >= 0 and r < n)

local function same(name, got, want)
  local g = got:totable()
  assert(#g == #want, name .. ": length " .. #g .. ", want " .. #want)
  for i = 1, #want do
    if math.abs(g[i] - want[i]) > 1e-12 * math.max(1, math.abs(want[i])) then
      error(string.format("rank %d: %s[%d] = %.17g, want %.17g", r, name, i, g[i], want[i]), 0)
    end
  end
end
local function times(k, v) local t = {}; for i, x in ipairs(v) do t[i] = k * x end; return t end
local base = {1, 2, 3}
local mine = function(dtype) return fm.tensor(times(r + 1, base), dtype) end
local tri = n * (n + 1) / 2

-- one call over several tensors of three dtypes (a bucket per dtype)
local a, b, c, d = mine("float32"), mine("float64"), mine("int64"), mine("float32"):reshape(3, 1)
local e = fm.full({2, 2}, r, "float32")
dist.allreduce({a, b, c, d, e}, "sum")
same("sum float32", a, times(tri, base))
same("sum float64", b, times(tri, base))
same("sum int64", c, times(tri, base))
assert(c:dtype() == "int64", "the int64 bucket keeps its dtype")
same("sum float32 (3, 1)", d:reshape(3), times(tri, base))
same("sum float32 (2, 2)", e:reshape(4), times((n - 1) * n / 2, {1, 1, 1, 1}))
same("mean", dist.allreduce(mine("float64"), "mean"), times((n + 1) / 2, base))
same("max", dist.allreduce(mine("float32"), "max"), times(n, base))
same("min", dist.allreduce(mine("int64"), "min"), base)

-- broadcast from the last rank; gather to rank 0 and to every rank
local x = dist.broadcast(mine("float32"), n - 1)
same("broadcast", x, times(n, base))
local lst = dist.broadcast({mine("float64"), mine("int64")})
same("broadcast list 1", lst[1], base)
same("broadcast list 2", lst[2], base)
local g = dist.gather(mine("float32"), 0)
if r == 0 then
  assert(g:dim() == 2 and g:size(1) == n and g:size(2) == 3, "gather: shape")
  for k = 1, n do same("gather row " .. k, g[k], times(k, base)) end
else
  assert(g == nil, "gather: nil on the other ranks")
end
local all = dist.gather(fm.tensor({{r, -r}}, "int64"))
for k = 1, n do same("allgather row " .. k, all[k]:reshape(2), {k - 1, 1 - k}) end
local v = dist.broadcast_value(r == 0 and {w2 = 0.5, name = "x", list = {1, 2}} or nil)
assert(v.w2 == 0.5 and v.name == "x" and v.list[2] == 2, "broadcast_value")

-- bad input: an error on every rank, no deadlock, and the job goes on
local function fails(what, fn, pattern)
  local ok, err = pcall(fn)
  if ok then error(string.format("rank %d: %s did not fail", r, what), 0) end
  if not tostring(err):find(pattern) then
    error(string.format("rank %d: %s: %s (want /%s/)", r, what, tostring(err), pattern), 0)
  end
  io.stderr:write(string.format("rank %d: %s: %s\n", r, what, tostring(err)))
end
if n > 1 then
  fails("shapes differ", function() dist.allreduce(fm.zeros(2 + r), "sum") end,
        "tensor 1 differs between ranks %(this rank: float32 %(" .. 2 + r .. ",%)")
  fails("dtypes differ", function()
    dist.allreduce({fm.zeros(2), fm.zeros(2, r == 0 and "float32" or "float64")}, "sum")
  end, "tensor 2 differs between ranks.*different dtype")
  fails("counts differ", function()
    local l = {}; for k = 1, r + 1 do l[k] = fm.zeros(1) end
    dist.allreduce(l, "sum")
  end, "different numbers of tensors")
  fails("ops differ", function() dist.allreduce(fm.zeros(1), r == 0 and "sum" or "max") end,
        "different ops")
  fails("roots differ", function() dist.broadcast(fm.zeros(1), r) end, "different roots")
  fails("bad input on the last rank", function()
    dist.allreduce(r == n - 1 and fm.zeros(2, "uint8") or fm.zeros(2), "sum")
  end, r == n - 1 and "tensor 1 is uint8" or "rank " .. n - 1 .. " was given bad arguments")
end
fails("mean of int64", function() dist.allreduce(fm.zeros(2, "int64"), "mean") end,
      "mean of integers")
fails("root out of range", function() dist.broadcast(fm.zeros(1), n) end, "root " .. n .. " out of range")
fails("unknown op", function() dist.allreduce(fm.zeros(1), "prod") end, "invalid option 'prod'")
fails("not a tensor", function() dist.allreduce({fm.zeros(1), 3}) end, "item 2 is a number")
-- a collective after the failures still works: nobody was left waiting
same("after the errors", dist.allreduce(fm.ones(1), "sum"), {n})
dist.barrier()
io.stderr:write(string.format("rank %d: ok\n", r))
