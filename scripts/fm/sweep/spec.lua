-- fm.sweep.spec: load a sweep file and expand it into the list of runs.
--
-- A sweep file is Lua returning a table:
--   { experiment = "experiments/ot_path.lua",
--     grid   = { schedule = {"linear", "cosine"}, lr = {1e-3, 3e-3} },
--     random = { n = 4, seed = 0, lr = {log_uniform = {1e-4, 1e-2}} },  -- optional
--     seeds  = {1, 2, 3},        -- or a count: seeds = 3 means 1..3
--     fixed  = { steps = 2000 }, -- passed to every run, not part of the name
--     jobs = 2, timeout = 600, metrics = {"w2", "mmd"}, out = "runs/schedules" }
-- Every grid point is combined with every random draw and every seed. A run is
-- named from its settings (sorted by key) and seed, so names are stable.
local M = {}

local function fail(msg) error("sweep: " .. msg, 0) end

-- fmt(v): a value as an argument string, exact for numbers.
function M.fmt(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if math.type(v) == "float" then
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%.1f", v) end
    local s = string.format("%.15g", v)
    if tonumber(s) ~= v then s = string.format("%.17g", v) end
    return s
  end
  return tostring(v)
end

local function short(v)     -- a value as it appears in a run name
  local s = math.type(v) == "float" and string.format("%.4g", v) or tostring(v)
  return (s:gsub("[^%w%.%+%-]", "_"))
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t or {}) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end
M.sorted_keys = sorted_keys

-- seeds(v): the list of seeds; a number n means 1..n; default {1}.
function M.seeds(v)
  if type(v) == "number" then
    local l = {}
    for i = 1, v do l[i] = i end
    v = l
  end
  v = v or { 1 }
  if type(v) ~= "table" or #v == 0 then fail("seeds must be a non-empty list or a count") end
  return v
end

-- check_jobs(v, what) / check_timeout(v, what): nil, or runs at once (an
-- integer >= 1) / seconds per run (a finite number > 0); errors name what.
function M.check_jobs(v, what)
  if v ~= nil and not (math.type(v) == "integer" and v >= 1
                       or type(v) == "number" and v >= 1 and v == math.floor(v) and v < 2 ^ 31) then
    fail(what .. " must be an integer >= 1, got " .. tostring(v))
  end
end
function M.check_timeout(v, what)
  if v ~= nil and not (type(v) == "number" and v > 0 and v < math.huge) then
    fail(what .. " must be a number of seconds > 0, got " .. tostring(v))
  end
end

-- load(path): the sweep table, checked, with defaults filled in.
function M.load(path)
  local env = setmetatable({}, { __index = _G })
  local chunk, err = loadfile(path, "t", env)
  if not chunk then fail(err) end
  local ok, s = pcall(chunk)
  if not ok then fail(path .. ": " .. tostring(s)) end
  if type(s) ~= "table" then fail(path .. ": must return a table") end
  if type(s.experiment) ~= "string" then fail(path .. ": 'experiment' (a script path) is required") end
  for _, f in ipairs { "grid", "random", "fixed" } do
    if s[f] ~= nil and type(s[f]) ~= "table" then fail(path .. ": '" .. f .. "' must be a table") end
  end
  for k, vs in pairs(s.grid or {}) do
    if type(vs) ~= "table" or #vs == 0 then fail("grid." .. k .. " must be a non-empty list") end
  end
  M.check_jobs(s.jobs, path .. ": jobs")
  M.check_timeout(s.timeout, path .. ": timeout")
  s.seeds = M.seeds(s.seeds)
  local base = path:match("([^/]+)%.lua$") or path:match("([^/]+)$")
  s.name = s.name or base
  s.out = s.out or ("runs/" .. s.name)
  s.file = path
  return s
end

-- draw(dist, rnd): one value from a random spec (rnd() is uniform on [0,1)).
local function draw(key, d, rnd)
  if type(d) ~= "table" then fail("random." .. key .. " must be a table") end
  if #d > 0 then return d[math.floor(rnd() * #d) + 1] end
  if d.uniform then return d.uniform[1] + rnd() * (d.uniform[2] - d.uniform[1]) end
  if d.log_uniform then
    local a, b = math.log(d.log_uniform[1]), math.log(d.log_uniform[2])
    return math.exp(a + rnd() * (b - a))
  end
  if d.int then return d.int[1] + math.floor(rnd() * (d.int[2] - d.int[1] + 1)) end
  fail("random." .. key .. ": use a list, {uniform = {a, b}}, {log_uniform = {a, b}} or {int = {a, b}}")
end

-- grid points: the cartesian product, last key varying fastest.
local function grid_points(grid)
  local points = { {} }
  for _, k in ipairs(sorted_keys(grid)) do
    local nxt = {}
    for _, p in ipairs(points) do
      for _, v in ipairs(grid[k]) do
        local q = {}
        for kk, vv in pairs(p) do q[kk] = vv end
        q[k] = v
        nxt[#nxt + 1] = q
      end
    end
    points = nxt
  end
  return points
end

-- random draws: a private generator seeded by random.seed, so the same
-- sweep file always gives the same draws.
local function random_points(random)
  if not random then return { {} } end
  local n = random.n or fail("random.n (number of draws) is required")
  local gen = { seed = (random.seed or 0) * 2654435761 % 2^32 + 12345 }
  local function rnd()          -- 48-bit LCG (drand48 constants): portable and plenty for draws
    gen.seed = (gen.seed * 25214903917 + 11) % 2^48
    return gen.seed / 2^48
  end
  local keys = {}
  for _, k in ipairs(sorted_keys(random)) do if k ~= "n" and k ~= "seed" then keys[#keys + 1] = k end end
  local pts = {}
  for i = 1, n do
    pts[i] = {}
    for _, k in ipairs(keys) do pts[i][k] = draw(k, random[k], rnd) end
  end
  return pts
end

-- name(settings, seed): "key-value_key-value_seed-N".
function M.name(settings, seed)
  local parts = {}
  for _, k in ipairs(sorted_keys(settings)) do parts[#parts + 1] = short(k) .. "-" .. short(settings[k]) end
  parts[#parts + 1] = "seed-" .. short(seed)
  local s = table.concat(parts, "_")
  if #s > 180 then  -- keep names under file-name limits, still unique
    local h = 5381
    for i = 1, #s do h = (h * 33 + s:byte(i)) % 4294967296 end
    s = s:sub(1, 160) .. string.format("_%08x", h)
  end
  return s
end

-- option_args(args, k, v): appends option k = v to args as fm.cli reads it:
-- a boolean is the flag --k or --no-k (fm.cli takes no "--k false"), any
-- other value --k <fmt(v)>.
function M.option_args(args, k, v)
  if type(v) == "boolean" then
    args[#args + 1] = (v and "--" or "--no-") .. k
    return
  end
  args[#args + 1] = "--" .. k
  args[#args + 1] = M.fmt(v)
end

-- expand(sweep): list of runs { index, name, settings, seed, args, dir }.
-- args is the experiment's options: fixed, then settings, then --seed.
function M.expand(s)
  local runs, seen = {}, {}
  for _, g in ipairs(grid_points(s.grid)) do
    for _, r in ipairs(random_points(s.random)) do
      local settings = {}
      for k, v in pairs(g) do settings[k] = v end
      for k, v in pairs(r) do settings[k] = v end
      for _, seed in ipairs(M.seeds(s.seeds)) do
        local name = M.name(settings, seed)
        if not seen[name] then
          seen[name] = true
          local args = {}
          local merged = {}
          for k, v in pairs(s.fixed or {}) do merged[k] = v end
          for k, v in pairs(settings) do merged[k] = v end
          for _, k in ipairs(sorted_keys(merged)) do M.option_args(args, k, merged[k]) end
          args[#args + 1] = "--seed"; args[#args + 1] = M.fmt(seed)
          runs[#runs + 1] = { index = #runs + 1, name = name, settings = settings,
                              seed = seed, args = args, dir = s.out .. "/runs/" .. name }
        end
      end
    end
  end
  return runs
end

return M
