-- fm.sweep: run an experiment over a grid / random draws of its options and
-- seeds, each run its own fmlua process in its own directory, N at a time,
-- locally or as one Slurm job array; resumable; then tables and a figure.
--
--   fmlua -m fm.sweep sweeps/file.lua [--backend local|slurm] [--jobs N]
--         [--timeout S] [--dry-run] [--out DIR] [--fmlua PATH] [--quiet]
--
-- The sweep file format is described in fm/sweep/spec.lua and docs/sweeps.md.
-- Layout: <out>/runs/<name>/{log.txt, metrics.jsonl, .exit, ...},
-- <out>/state.lua, <out>/summary.{csv,md}, <out>/grouped.{csv,md},
-- <out>/comparison.svg. Exit status: 0 all finished, 1 some failed,
-- 130 interrupted, 2 usage error.
local as_script = type(arg) == "table" and type(arg[0]) == "string"
  and arg[0]:match("sweep%.lua$") ~= nil and (...) ~= "fm.sweep"
if as_script then   -- lua5.4 scripts/fm/sweep.lua ...: find our own modules
  package.path = (arg[0]:match("^(.*)/fm/sweep%.lua$") or ".") .. "/?.lua;" .. package.path
end
local proc = require "fm.proc"
local spec = require "fm.sweep.spec"
local state = require "fm.sweep.state"
local progress = require "fm.sweep.progress"
local report = require "fm.sweep.report"
local M = {}

local USAGE = [=[
usage: fmlua -m fm.sweep SWEEP.lua [--backend local|slurm] [--jobs N]
       [--timeout SECONDS] [--dry-run] [--out DIR] [--fmlua PATH] [--quiet]]=]

-- parse(args): options table; raises a usage message on bad input.
function M.parse(args)
  local o, i = {}, 1
  local flags = { ["--dry-run"] = "dry_run", ["--quiet"] = "quiet", ["--help"] = "help", ["-h"] = "help" }
  local valued = { ["--backend"] = "backend", ["--jobs"] = "jobs", ["-j"] = "jobs", ["--timeout"] = "timeout",
                   ["--out"] = "out", ["--fmlua"] = "fmlua" }
  while i <= #args do
    local a = args[i]
    local k, v = a:match("^(%-%-[%w-]+)=(.*)$")
    k = k or a
    if flags[k] then o[flags[k]] = true
    elseif valued[k] then
      if v == nil then i = i + 1; v = args[i] end
      if v == nil then error(USAGE .. "\nmissing value for " .. k, 0) end
      o[valued[k]] = v
    elseif a:sub(1, 1) == "-" then error(USAGE .. "\nunknown option " .. a, 0)
    elseif o.file then error(USAGE .. "\nonly one sweep file", 0)
    else o.file = a end
    i = i + 1
  end
  for _, k in ipairs { "jobs", "timeout" } do
    if o[k] then o[k] = tonumber(o[k]) or error(USAGE .. "\n--" .. k .. " needs a number", 0) end
  end
  local okj, errj = pcall(spec.check_jobs, o.jobs, "--jobs")
  if not okj then error(USAGE .. "\n" .. errj, 0) end
  local okt, errt = pcall(spec.check_timeout, o.timeout, "--timeout")
  if not okt then error(USAGE .. "\n" .. errt, 0) end
  if o.backend and o.backend ~= "local" and o.backend ~= "slurm" then
    error(USAGE .. "\n--backend is local or slurm", 0)
  end
  return o
end

local function exists(p) local f = io.open(p, "r"); if f then f:close() end; return f ~= nil end

local function cwd() return (proc.capture("pwd"):gsub("\n$", "")) end

-- interpreter(): the fmlua binary that runs this sweep: $FMLUA, else the
-- interpreter in arg[-n] (the most negative index), else "fmlua" on PATH.
function M.interpreter()
  local env = os.getenv("FMLUA")
  if env and env ~= "" then return env end
  if type(arg) == "table" then
    local lo = 0
    while arg[lo - 1] ~= nil do lo = lo - 1 end
    if lo < 0 and type(arg[lo]) == "string" then return arg[lo] end
  end
  return "fmlua"
end

local function absolute(p, dir)
  if p:sub(1, 1) == "/" then return p end
  return dir .. "/" .. p
end

-- context(sw, opts): everything the backends need, paths made absolute.
local function context(sw, opts)
  local here = cwd()
  local script = sw.experiment
  if not exists(script) then
    local alt = (sw.file:match("^(.*)/[^/]*$") or ".") .. "/" .. script
    if exists(alt) then script = alt
    elseif opts.dry_run then io.stderr:write("sweep: warning: experiment not found: ", script, "\n")
    else error("sweep: experiment not found: " .. sw.experiment, 0) end
  end
  local fmlua = opts.fmlua or sw.fmlua or M.interpreter()
  if fmlua:find("/") then fmlua = absolute(fmlua, here) end
  return { fmlua = fmlua, script = absolute(script, here), cwd = here,
           jobs = math.max(1, math.floor(opts.jobs or sw.jobs or proc.nproc())),
           timeout = opts.timeout or sw.timeout, out = sw.out, name = sw.name,
           slurm = sw.slurm or {} }
end

-- print_failures: the log tails of the first few failed runs, names of the rest.
local function print_failures(runs, records, max)
  local shown, rest = 0, {}
  for _, r in ipairs(runs) do
    local rec = records[r.name]
    if rec and (rec.status == "failed" or rec.status == "timeout") and shown >= max then
      rest[#rest + 1] = r.name .. " (" .. rec.status .. ", exit " .. tostring(rec.exit) .. ")"
    elseif rec and (rec.status == "failed" or rec.status == "timeout") then
      shown = shown + 1
      print(string.format("\n--- %s: %s, exit %s; last lines of %s/log.txt:", r.name, rec.status,
                          tostring(rec.exit), r.dir))
      if rec.error then print(rec.error) end
      if rec.tail and rec.tail ~= "" then print(rec.tail) end
    end
  end
  if #rest > 0 then
    print(string.format("\n%d more failed (log tails in state.lua): %s", #rest, table.concat(rest, ", ")))
  end
end

-- run(opts): the sweep; returns the exit status.
function M.run(opts)
  local sw = spec.load(opts.file)
  if opts.out then sw.out = opts.out end
  local runs = spec.expand(sw)
  local ctx = context(sw, opts)
  for _, r in ipairs(runs) do r.dir = absolute(r.dir, ctx.cwd) end
  local old = state.load(sw.out) or {}
  local records, todo, skipped = {}, {}, 0
  for _, r in ipairs(runs) do
    if state.finished(r.dir) then
      skipped = skipped + 1
      records[r.name] = (old.runs and old.runs[r.name]) or { status = "done", exit = 0 }
      records[r.name].status = "done"
    else
      todo[#todo + 1] = r
      records[r.name] = { status = "pending", settings = r.settings, seed = r.seed }
    end
  end
  local backend = require(opts.backend == "slurm" and "fm.sweep.slurm" or "fm.sweep.localrun")
  if not opts.dry_run and backend.reap_finished then
    local dirs = {}
    for _, r in ipairs(runs) do if records[r.name].status == "done" then dirs[#dirs + 1] = r.dir end end
    backend.reap_finished(dirs)
  end
  if opts.dry_run then
    print(string.format("sweep %s: %d runs, %d finished, %d to run (%s backend, %d at a time)",
                        sw.name, #runs, skipped, #todo, opts.backend or "local", ctx.jobs))
    for _, r in ipairs(todo) do print(backend.command(ctx, r)) end
    return 0
  end
  os.execute("mkdir -p " .. proc.quote(sw.out .. "/runs"))
  local meta = { name = sw.name, file = sw.file, experiment = sw.experiment, backend = opts.backend or "local",
                 previous_slurm_job = old.sweep and old.sweep.slurm_job }
  local track = progress.new { out = sw.out, total = #runs, jobs = ctx.jobs, timeout = ctx.timeout,
                               records = records, meta = meta, quiet = opts.quiet, skipped = skipped }
  track:save()
  if not opts.quiet then
    print(string.format("sweep %s: %d runs (%d already finished), %d at a time, backend %s, out %s",
                        sw.name, #runs, skipped, ctx.jobs, meta.backend, sw.out))
  end
  local ok, err = pcall(backend.run, ctx, todo, track)
  track:close()
  local rok, rerr = pcall(report.write, sw, runs, records)
  if not rok then io.stderr:write("sweep: writing the summary failed: ", tostring(rerr), "\n") end
  if not ok then
    if tostring(err):find("interrupted") then
      io.stderr:write("sweep: interrupted; unfinished runs will run again next time\n")
      return 130
    end
    error(err, 0)
  end
  if not opts.quiet then print_failures(runs, records, 5) end
  if not opts.quiet then print("results: " .. sw.out .. "/summary.md, grouped.md, comparison.svg") end
  return track.failed > 0 and 1 or 0
end

-- main(args): entry point for `fmlua -m fm.sweep ...`; returns the exit status.
function M.main(args)
  local ok, o = pcall(M.parse, args or {})
  if not ok then io.stderr:write(tostring(o), "\n"); return 2 end
  if o.help then print(USAGE); return 0 end
  if not o.file then io.stderr:write(USAGE, "\n"); return 2 end
  local rok, res = pcall(M.run, o)
  if not rok then io.stderr:write(tostring(res), "\n"); return tostring(res):find("interrupted") and 130 or 1 end
  return res
end

if as_script then os.exit(M.main({ ... })) end

return M
