-- fm.sweep.state: what is on disk about each run, and the sweep's state file.
--
-- The run directory is the source of truth: a run is finished when
-- <dir>/.exit holds 0 and <dir>/metrics.jsonl exists; .exit ("<status>
-- <pgid>") is written by the wrapper through a temporary name and a rename,
-- so it is never torn.
-- <out>/state.lua (rewritten atomically: temp + rename) records status, exit
-- code, duration and log tail of every run for the reports and for people.
local json = require "fm.sweep.json"
local M = {}

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.read_all = read_all

-- write_atomic(path, text): write to path.tmp, then rename over path.
function M.write_atomic(path, text)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  assert(f:write(text))
  assert(f:close())
  assert(os.rename(tmp, path))
end

-- exit_code(dir): the run's recorded exit status, or nil if none, and the
-- process group of the copy that wrote it (nil in files without one).
function M.exit_code(dir)
  local s = read_all(dir .. "/.exit")
  if not s then return nil end
  local code, owner = s:match("^%s*(%-?%d+)%s*(%d*)")
  return tonumber(code), tonumber(owner)
end

-- tail(path, n): the last n lines of a file as one string.
function M.tail(path, n)
  local s = read_all(path)
  if not s then return "" end
  local lines = {}
  for line in s:gmatch("([^\n]*)\n?") do lines[#lines + 1] = line end
  if lines[#lines] == "" then lines[#lines] = nil end
  local first = math.max(1, #lines - (n or 20) + 1)
  return table.concat(lines, "\n", first)
end

-- metrics(dir): the final metrics of a run: for every key, its value on the
-- last line of metrics.jsonl that has it (the last line wins). nil if no file.
function M.metrics(dir)
  local s = read_all(dir .. "/metrics.jsonl")
  if not s then return nil end
  local final, any = {}, false
  for line in s:gmatch("[^\n]+") do
    local ok, obj = pcall(json.decode, line)
    if ok then
      any = true
      for k, v in pairs(obj) do final[k] = v end
    end
  end
  return any and final or nil
end

-- finished(dir): true when the run completed and its metrics exist.
function M.finished(dir)
  return M.exit_code(dir) == 0 and M.metrics(dir) ~= nil
end

-- clear(dir): forget a previous attempt (exit status, metrics), keep the dir.
function M.clear(dir)
  for _, f in ipairs { ".exit", "metrics.jsonl" } do os.remove(dir .. "/" .. f) end
end

-- serialize(v): a Lua literal (fm.luadata, shared with run directories).
local serialize = require("fm.luadata").literal
M.serialize = serialize

-- save(out, state): rewrite <out>/state.lua atomically.
function M.save(out, state)
  M.write_atomic(out .. "/state.lua", "return " .. serialize(state) .. "\n")
end

-- load(out): the saved state, or nil.
function M.load(out)
  local chunk = loadfile(out .. "/state.lua", "t", { math = { huge = math.huge } })
  if not chunk then return nil end
  local ok, s = pcall(chunk)
  return ok and s or nil
end

return M
