-- check_run.lua DIR [file ...]: exits non-zero unless DIR is a well-formed run
-- directory: config.lua loads and holds settings/seed/fm_version/date,
-- every metrics.jsonl line is a JSON object, every *.npy loads (and is
-- finite when it holds floats), *.png start with the PNG signature, *.gif with GIF89a, and
-- every file named after DIR exists. Prints one line per problem.
local fm = require "fm"
local lfs = require "lfs"
local json = require "fm.sweep.json"
local dir = assert(arg[1], "usage: check_run.lua DIR [files...]")
local bad = 0
local function fail(msg) print("  bad run " .. dir .. ": " .. msg); bad = bad + 1 end
local function slurp(p) local f = io.open(p, "rb"); if not f then return nil end
  local s = f:read("a"); f:close(); return s end

local chunk, err = loadfile(dir .. "/config.lua")
if not chunk then fail("config.lua: " .. tostring(err)) else
  local cfg = chunk()
  if type(cfg) ~= "table" or type(cfg.settings) ~= "table" or cfg.fm_version ~= fm.version
     or type(cfg.date) ~= "string" or cfg.seed == nil then fail("config.lua lacks fields") end
end
local m = slurp(dir .. "/metrics.jsonl")
if not m or m == "" then fail("metrics.jsonl missing or empty") else
  for line in m:gmatch("[^\n]+") do
    local ok, obj = pcall(json.decode, line)
    if not ok or type(obj) ~= "table" or obj.step == nil then fail("metrics line: " .. line) end
  end
end
for f in lfs.dir(dir) do
  local p = dir .. "/" .. f
  if f:match("^%.tmp") then fail("temporary left: " .. f) end
  if f:match("%.png$") and (slurp(p) or ""):sub(1, 8) ~= "\137PNG\r\n\26\n" then fail(f .. " is not a PNG") end
  if f:match("%.gif$") and (slurp(p) or ""):sub(1, 6) ~= "GIF89a" then fail(f .. " is not a GIF") end
  if f:match("%.npy$") then
    local ok, t = pcall(fm.load_npy, p)
    if not ok then fail(f .. ": " .. tostring(t))
    elseif t:dtype():match("^float") and (t:dim() < 1 or t:isfinite():min():item() ~= 1) then
      fail(f .. " not a finite array")
    end
  end
end
for i = 2, #arg do
  if not lfs.attributes(dir .. "/" .. arg[i]) then fail("missing " .. arg[i]) end
end
os.exit(bad == 0 and 0 or 1)
