-- fm.run: a run directory, the files an experiment leaves behind.
--
--   local run = require("fm.run").new(opts.out, opts)
--   run:log(step, {loss = l})            -- one JSON line in metrics.jsonl
--   run:save_npy("samples.npy", x)       -- whole files: temp name + rename
--   run:save_model("model.safetensors", net)
--   run:plot("scatter", "samples.png", {x, reference = ref})
--   run:path("notes.txt")                -- <dir>/notes.txt
--
-- Layout (docs/design.md, "Files a run writes"): config.lua (settings as a Lua
-- table, with the seed, fm.version, date and script), metrics.jsonl (one flat
-- JSON object per logged step, appended and flushed one whole line at a time
-- so a killed run keeps all it logged), model.safetensors, samples.npy,
-- *.png, *.gif. Every whole file is written under a temporary name in the
-- same directory and renamed, so a killed run never leaves a torn file. One
-- process writes a run directory at a time: new() takes <dir>/.lock (see
-- M.lock) and a second writer is refused with an error naming the holder.
local fm = require "fm"
local args = require "fm.args"
local lfs = require "lfs"
local json = require "fm.sweep.json"
local M = {}
local Run = {}
Run.__index = Run

-- mkdir_p(dir): create dir and its parents; raises on failure.
function M.mkdir_p(dir)
  local prefix = dir:sub(1, 1) == "/" and "/" or ""
  local cur = prefix
  for part in dir:gmatch("[^/]+") do
    cur = (cur == "" or cur == "/") and cur .. part or cur .. "/" .. part
    local mode = lfs.attributes(cur, "mode")
    if mode == nil then
      local ok, err = lfs.mkdir(cur)
      if not ok and lfs.attributes(cur, "mode") ~= "directory" then
        error("fm.run: cannot create directory " .. cur .. ": " .. tostring(err), 0)
      end
    elseif mode ~= "directory" then
      error("fm.run: " .. cur .. " exists and is not a directory", 0)
    end
  end
end

local literal = require("fm.luadata").literal
M.literal = literal

local tmp_count = 0

-- tmpname(final): a temporary name next to final, keeping its extension
-- (fm.plot and fm.save choose the format from it), unique across processes:
-- .tmp-<pid>@<host>-<counter>-<random>-<name><ext> (the pid and host in
-- the name also tell a later writer whose leftover it is, docs/reliability.md).
local function tmpname(final)
  tmp_count = tmp_count + 1
  local dir, base = final:match("^(.*/)([^/]*)$")
  dir, base = dir or "", base or final
  local ext = base:match("(%.[%w]+)$") or ""
  return string.format("%s%s%d-%06x-%s%s", dir, fm._tmp_infix(), tmp_count,
                       math.random(0, 0xffffff), (base:gsub("%.[%w]+$", "")), ext)
end
M.tmpname = tmpname

-- atomic(final, writer): writer(tmp) writes the file; then tmp -> final.
-- On error the temporary is removed and the error re-raised. Temporaries
-- that dead writers left in final's directory are removed first
-- (fm._clean_temps: names with the pid of a process that no longer exists).
function M.atomic(final, writer)
  -- rename replaces whatever is at final: never a device, directory or pipe
  local mode = lfs.attributes(final, "mode")
  if mode and mode ~= "file" then
    error("fm.run: " .. final .. " exists and is not a regular file; refusing to replace it", 0)
  end
  local dir = final:match("^(.*)/[^/]*$") or "."
  fm._clean_temps(dir == "" and "/" or dir)
  local tmp = tmpname(final)
  local ok, err = pcall(writer, tmp)
  if not ok then os.remove(tmp); error(err, 0) end
  local renamed, rerr = os.rename(tmp, final)
  if not renamed then os.remove(tmp); error("fm.run: rename to " .. final .. ": " .. tostring(rerr), 0) end
  return final
end

-- write_file(final, text): a whole text file, atomically.
function M.write_file(final, text)
  return M.atomic(final, function(tmp)
    local f = assert(io.open(tmp, "wb"))
    assert(f:write(text))
    assert(f:close())
  end)
end

-- lock(dir): the run-directory lock <dir>/.lock (fm._lock: flock, released
-- when the process ends however it ends, so a killed writer's lock is taken
-- over). A directory held by another writer is an error naming it and the
-- holder's pid.
function M.lock(dir)
  local lk, err, holder = fm._lock(dir .. "/.lock")
  if lk then return lk end
  if holder and holder > 0 then
    error(string.format("fm.run: %s is in use by another writer (process %d holds %s/.lock); "
                        .. "two runs cannot share a directory: choose another --out or wait for it",
                        dir, holder, dir), 0)
  end
  if tostring(err):find(": cannot lock: ", 1, true) then
    -- a file system without flock (some FUSE mounts): go on, unprotected
    io.stderr:write("fm.run: warning: ", tostring(err), "; ", dir,
                    " is not protected against a second writer\n")
    return nil
  end
  error("fm.run: cannot lock " .. dir .. ": " .. tostring(err), 0)
end

local follower -- below: what ranks other than 0 get from new()

-- new(dir, settings [, {resume = true}]): create dir (mkdir -p), take the
-- directory lock (one writer per run directory), write config.lua, start
-- metrics.jsonl afresh (a run directory holds one run), or with resume keep
-- its lines and append (a run going on from its checkpoint).
function M.new(dir, settings, opts)
  args.check("fm.run.new", 1, "dir", dir, "string")
  if dir == "" then args.fail("fm.run.new", 1, "dir", "a directory name", dir) end
  settings = args.check("fm.run.new", 2, "settings", settings, "table?") or {}
  opts = args.opts("fm.run.new", 3, opts)
  if fm._dist.rank() > 0 then return follower(dir, settings) end
  M.mkdir_p(dir)
  local self = setmetatable({ dir = dir, settings = settings, history = {},
                              t0 = fm.clock() }, Run)
  self.lock = M.lock(dir)
  local plain = {}
  for k, v in pairs(settings) do plain[k] = v end
  local script = arg and arg[0] or "?"
  local config = {
    settings = plain,
    seed = settings.seed,
    fm_version = fm.version,
    date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    script = script,
  }
  M.write_file(self:path("config.lua"),
    "-- fmlua run configuration: dofile() or loadfile() it to get the table.\n"
    .. "return " .. literal(config) .. "\n")
  -- truncated once, then opened for appending: every line goes to the end
  -- of the file in one write (a full buffer flushed per line)
  if not (opts and opts.resume) then assert(io.open(self:path("metrics.jsonl"), "w")):close() end
  self.metrics = assert(io.open(self:path("metrics.jsonl"), "a"))
  self.metrics:setvbuf("full", 1 << 20)
  return self
end

-- path(name): the file name inside the run directory.
function Run:path(name) return self.dir .. "/" .. name end

-- log(step, values): append {"step": step, ...values} to metrics.jsonl and
-- remember the values (run:series(key) gives them back for curves).
function Run:log(step, values)
  local rec = self:remember(step, values)
  if not self.metrics then error("fm.run: log after close() in " .. self.dir, 2) end
  assert(self.metrics:write(json.encode(rec) .. "\n"))
  assert(self.metrics:flush())
end

-- remember(step, values): the record {step = step, ...values}, its numbers
-- kept for run:series.
function Run:remember(step, values)
  local rec = { step = step }
  for k, v in pairs(values) do
    rec[k] = v
    local h = self.history[k]
    if not h then h = { steps = {}, values = {} }; self.history[k] = h end
    if type(v) == "number" then
      h.steps[#h.steps + 1] = step
      h.values[#h.values + 1] = v
    end
  end
  return rec
end

-- series(key): steps, values of a logged number (empty tables if none).
function Run:series(key)
  local h = self.history[key]
  if not h then return {}, {} end
  return h.steps, h.values
end

-- write(name, text): a whole text file in the run directory, atomically.
function Run:write(name, text) return M.write_file(self:path(name), text) end

-- save_npy(name, t): a tensor as NumPy .npy, atomically.
function Run:save_npy(name, t)
  return M.atomic(self:path(name), function(tmp) fm.save_npy(tmp, t) end)
end

-- save_model(name, net): a module's parameters as safetensors (fm.save).
function Run:save_model(name, net)
  return M.atomic(self:path(name), function(tmp) fm.save(tmp, net) end)
end

-- plot(kind, name, opts): fm.plot[kind]{<dir>/name, ...opts}, atomically.
function Run:plot(kind, name, opts)
  args.check("run:plot", 1, "kind", kind, "string")
  args.check("run:plot", 2, "name", name, "string")
  opts = args.opts("run:plot", 3, opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  return M.atomic(self:path(name), function(tmp)
    table.insert(o, 1, tmp)
    fm.plot[kind](o)
  end)
end

-- elapsed(): wall seconds since the run was created.
function Run:elapsed() return fm.clock() - self.t0 end

-- close(): close metrics.jsonl and release the directory lock (also done
-- by the collector, and by the system when the process ends).
function Run:close()
  if self.metrics then self.metrics:close(); self.metrics = nil end
  if self.lock then self.lock:release(); self.lock = nil end
end
Run.__close = Run.close
Run.__gc = Run.close

-- follower(dir, settings): what ranks other than 0 of a data-parallel job
-- get from new() (docs/dist.md): the same object, remembering what is
-- logged (run:series), but writing nothing; rank 0 writes the directory.
local Follower = setmetatable({}, {__index = Run})
Follower.__index = Follower
Follower.log = Run.remember
function Follower:write(name) return self:path(name) end
Follower.save_npy, Follower.save_model, Follower.plot = Follower.write, Follower.write, Follower.write
function Follower.close() end
Follower.__close = Follower.close

function follower(dir, settings)
  return setmetatable({ dir = dir, settings = settings, history = {}, t0 = fm.clock(),
                        follower = true }, Follower)
end

-- printing: the directory, the settings and how many steps were logged
function Run.__tostring(self)
  return require("fm.pretty").call("fm.run", {{"dir", self.dir},
    {"settings", self.settings}}, #self.history .. " steps logged")
end
Follower.__tostring = Run.__tostring

M.Run = Run
return M
