--- Few-step sampling with an average-velocity network (docs/math.md §9.1):
-- x_{t_{i+1}} = x_{t_i} + (t_{i+1} - t_i) F(x_{t_i}, t_i, t_{i+1}), one network
-- evaluation per interval of a grid from 0 (noise) to 1 (data).
--
--   local x1, frames = fm.fewstep.sample(net, x0, {steps = 4})
--   fm.fewstep.sample(net, x0, {times = {0, 0.3, 1}, labels = y})
local fm = require "fm"
local args = require "fm.args"
local fs = require "fm.fewstep"

local M = {}

--- fs.grid(k): k + 1 uniform times 0, 1/k, ..., 1
function M.grid(k)
  if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
    error("fm.fewstep.grid: steps must be a positive integer, got " .. tostring(k), 2)
  end
  local g = {}
  for i = 0, k do g[i + 1] = i / k end
  return g
end

local function check_times(ts)
  if type(ts) ~= "table" or #ts < 2 then
    error("fm.fewstep.sample: times must be a list of at least two times", 4)
  end
  for i, v in ipairs(ts) do
    if type(v) ~= "number" or v ~= v then
      error("fm.fewstep.sample: times[" .. i .. "] is not a number", 4)
    end
    if i > 1 and v < ts[i - 1] then
      error("fm.fewstep.sample: times must not decrease (times[" .. i .. "])", 4)
    end
  end
  return ts
end

--- fs.sample(net, x0, opts) -> x1, frames: opts.steps (default 1) or
-- opts.times (a grid), opts.labels. frames is the list of the states at
-- the grid's times, x0 first. Runs without recording a graph.
function M.sample(net, x0, opts)
  args.check("fm.fewstep.sample", 1, "net", net, "callable|object")
  opts = args.opts("fm.fewstep.sample", 3, opts)
  if not fm.is_tensor(x0) then error("fm.fewstep.sample: x0 must be a tensor", 2) end
  local ts = check_times(opts.times or M.grid(opts.steps or 1))
  local n, dt = x0:size(1), x0:dtype()
  return fm.no_grad(function()
    local x, frames = x0, {x0}
    for i = 1, #ts - 1 do
      local s, t = fm.full({n, 1}, ts[i], dt), fm.full({n, 1}, ts[i + 1], dt)
      x = x + fs.call(net, x, s, t, opts.labels) * (ts[i + 1] - ts[i])
      frames[#frames + 1] = x
    end
    return x, frames
  end)
end

return M
