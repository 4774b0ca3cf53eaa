-- bench/lib.lua — timing helpers shared by the fmlua benchmarks, printing the
-- same `name value unit` lines as the PyTorch peer benchmark
-- (outside this repository; the shell drivers take its directory as FM_PEER_DIR).
local fm = require "fm"
local M = {}

function M.emit(name, value, unit)
  if math.type(value) == "float" then value = string.format("%.6g", value) end
  print(string.format("%s %s %s", name, value, unit))
  io.stdout:flush()
end

function M.median(values)
  local s = {}
  for i, v in ipairs(values) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

function M.emit_stats(name, values, unit)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(values) do lo = math.min(lo, v); hi = math.max(hi, v) end
  M.emit(name .. "_min", lo, unit)
  M.emit(name .. "_median", M.median(values), unit)
  M.emit(name .. "_max", hi, unit)
  M.emit(name .. "_n", #values, "repeats")
end

-- calls of fn per second over one repeat of at least target_s seconds
function M.rate_for(fn, target_s, min_calls)
  min_calls = min_calls or 3
  local n, t0 = 0, fm.clock()
  while true do
    fn()
    n = n + 1
    local dt = fm.clock() - t0
    if dt >= target_s and n >= min_calls then return n / dt end
  end
end

function M.rates(fn, repeats, target_s)
  local r = {}
  for i = 1, repeats do r[i] = M.rate_for(fn, target_s) end
  return r
end

function M.env_header()
  for _, k in ipairs{"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                     "OMP_NUM_THREADS", "OMP_WAIT_POLICY"} do
    print(string.format("# %s=%s", k, os.getenv(k) or "<unset>"))
  end
  print("# fmlua " .. fm.version .. " " .. _VERSION)
end

return M
