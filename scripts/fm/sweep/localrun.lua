-- fm.sweep.localrun: the local backend. Each run is its own process group
-- (setsid), wrapped in a shell that applies the timeout, sends stdout+stderr
-- to <dir>/log.txt and, on the way out, writes the exit status to
-- <dir>/.exit through a temporary file and a rename. The runner polls those
-- files, keeps N runs going, and on Ctrl-C stops the groups it started.
-- Whenever a run ends (normal exit, timeout, vanished, interrupted) its whole
-- process group is killed: children a run left behind (os.execute("... &"),
-- or the grandchildren `timeout --foreground` does not signal) never outlive it.
--
-- One copy of a run at a time (docs/sweeps.md, "Runs that outlive their
-- runner"): the wrapper takes flock(1) on <dir>/.sweep.lock before touching
-- the directory, and every process of the run inherits that lock, so the lock
-- is held exactly while something of the run is alive. <dir>/.pgid names the
-- holder's process group, and .exit reads "<status> <pgid>": a runner only
-- takes an .exit written by the copy it is watching. A restart that finds a
-- run still going (its runner was killed) waits for it instead of starting a
-- second copy; leftovers of a run whose wrapper is gone are killed first.
local proc = require "fm.proc"
local state = require "fm.sweep.state"
local q = proc.quote
local L = {}

-- command(ctx, run): the shell command for one run (no redirections).
-- --foreground keeps timeout in the run's process group, so that killing the
-- group stops timeout and the experiment together.
function L.command(ctx, run)
  local parts = {}
  if ctx.timeout and ctx.timeout > 0 then
    parts[#parts + 1] = string.format("timeout --foreground --signal=TERM --kill-after=%d %d",
                                      ctx.kill_after or 5, math.ceil(ctx.timeout))
  end
  if ctx.launcher then parts[#parts + 1] = ctx.launcher end  -- srun/mpirun (fm.sweep.slurm)
  parts[#parts + 1] = q(ctx.fmlua)
  parts[#parts + 1] = q(ctx.script)
  parts[#parts + 1] = "--out " .. q(run.dir)
  for _, a in ipairs(run.args) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

-- wrapper(ctx, run): lock + pid file + command + log redirection + atomic
-- exit-status file. A wrapper that finds the lock taken exits 75 and touches
-- nothing (another copy of the run is alive).
function L.wrapper(ctx, run)
  local d = q(run.dir)
  return string.format(
    "exec 9>>%s/.sweep.lock && flock -n -E 75 9 || exit 75; " ..
    "echo $$ > %s/.pgid.$$ && mv -f %s/.pgid.$$ %s/.pgid; rm -f %s/.exit %s/metrics.jsonl; " ..
    "%s > %s/log.txt 2>&1 < /dev/null; " ..
    "echo \"$? $$\" > %s/.exit.$$ && mv -f %s/.exit.$$ %s/.exit",
    d, d, d, d, d, d, L.command(ctx, run), d, d, d, d)
end

-- inspect(dirs): for each run directory (created if missing), what holds
-- it: "free" (nobody), "live", pgid (a copy of the run whose wrapper is
-- alive) or "held", pgid|nil (only leftovers of a copy whose wrapper is gone
-- hold the lock). One shell for the whole list.
function L.inspect(dirs)
  if #dirs == 0 then return {} end
  local parts = {}
  for i, dir in ipairs(dirs) do parts[i] = q(dir) end
  local out = proc.capture(proc.ALIVE_SH .. "for d in " .. table.concat(parts, " ") .. "; do " ..
    "mkdir -p \"$d\"; flock -n -E 75 \"$d/.sweep.lock\" true 2>/dev/null; " ..
    "if [ $? = 75 ]; then p=$(cat \"$d/.pgid\" 2>/dev/null); " ..
    "if [ -n \"$p\" ] && alive \"$p\"; then echo \"live $p\"; else echo \"held $p\"; fi; " ..
    "else echo free; fi; done")
  local res = {}
  for what, pid in out:gmatch("(%a+) ?(%d*)\n") do res[#res + 1] = { what, tonumber(pid) } end
  for i = #res + 1, #dirs do res[i] = { "free" } end
  return res
end

local function inspect1(dir)
  local r = L.inspect({ dir })[1]
  return r[1], r[2]
end

-- own_exit(run): the run's exit status if .exit was written by the copy
-- with process group run.pid, else nil.
local function own_exit(run)
  local code, owner = state.exit_code(run.dir)
  if code and owner == run.pid then return code end
end

-- settle(run, what, pid): given what inspect found, make sure no earlier
-- copy of the run is alive before it is started. Returns "start", "adopt"
-- (run.pid set to the live copy's group), "done" (the copy finished since
-- the sweep looked: its result stands) or "stuck" (leftovers could not be
-- killed; run.error says why).
local function settle(run, what, pid)
  for _ = 1, 20 do   -- a wrapper that holds the lock writes .pgid right after
    if what ~= "held" or pid then break end
    proc.sleep(0.05)
    what, pid = inspect1(run.dir)
  end
  if what == "live" then run.pid = pid; return "adopt" end
  if what == "held" then   -- strays of a dead wrapper: kill them first
    if pid then proc.kill_group(pid, "KILL") end
    for _ = 1, 50 do
      what = inspect1(run.dir)
      if what == "free" then break end
      proc.sleep(0.1)
    end
    if what ~= "free" then
      run.error = string.format("a process outside the run's group %s still holds %s/.sweep.lock",
                                tostring(pid), run.dir)
      return "stuck"
    end
  end
  if state.finished(run.dir) then return "done" end
  return "start"
end

-- reap_finished(dirs): kill the leftovers of finished runs whose runner
-- died before it could (their lock is still held by strays).
function L.reap_finished(dirs)
  if #dirs == 0 then return end
  local parts = {}
  for i, dir in ipairs(dirs) do parts[i] = q(dir) end
  os.execute("for d in " .. table.concat(parts, " ") .. "; do " ..
             "flock -n -E 75 \"$d/.sweep.lock\" true 2>/dev/null; " ..
             "if [ $? = 75 ] && p=$(cat \"$d/.pgid\" 2>/dev/null) && [ -n \"$p\" ]; then " ..
             "kill -KILL -$p 2>/dev/null; fi; done")
end

local function pids_of(running)
  local pids = {}
  for i, r in ipairs(running) do pids[i] = r.pid end
  return pids
end

-- reap(run): SIGKILL whatever is left of the run's process group (the
-- wrapper itself is done or about to exit once .exit exists).
local function reap(run) proc.kill_group(run.pid, "KILL") end
L.reap = reap

-- stop(running, track): TERM every group, wait up to 5 s, then KILL.
local function stop(running, track)
  for _, r in ipairs(running) do proc.kill_group(r.pid, "TERM") end
  for _ = 1, 50 do
    if next(proc.alive(pids_of(running))) == nil then break end
    pcall(proc.sleep, 0.1)          -- a second Ctrl-C must not skip the cleanup
  end
  for _, r in ipairs(running) do proc.kill_group(r.pid, "KILL") end
  for _, r in ipairs(running) do
    local code = own_exit(r)
    if code then track:finish(r, code) else track:interrupted(r) end
  end
end

-- run(ctx, todo, track): run the list; raises "interrupted!" on Ctrl-C after
-- stopping the children and recording them as interrupted.
function L.run(ctx, todo, track)
  local queue, running = {}, {}
  local last_check = os.time()
  local ok, err = pcall(function()
    -- copies of these runs that outlived an earlier runner: wait for them
    -- (they count against --jobs); strays of dead copies are killed
    local dirs = {}
    for i, run in ipairs(todo) do dirs[i] = run.dir end
    local found = L.inspect(dirs)
    for i = #todo, 1, -1 do
      local run = todo[i]
      local how = settle(run, found[i][1], found[i][2])
      if how == "adopt" then
        running[#running + 1] = run
        track:start(run)
        track:say(string.format("wait   %s (still running from an earlier runner, group %d)",
                                run.name, run.pid))
      elseif how == "start" then
        queue[#queue + 1] = run
      else
        track:start(run)
        track:finish(run, how == "done" and 0 or -1)
      end
    end
    while #queue > 0 or #running > 0 do
      while #running < ctx.jobs and #queue > 0 do
        local run = table.remove(queue)
        state.clear(run.dir)
        run.pid = proc.spawn(L.wrapper(ctx, run))
        running[#running + 1] = run
        track:start(run)
      end
      proc.sleep(ctx.poll or 0.1)
      -- a group that vanished without writing .exit (killed from outside)
      -- is noticed by a liveness check once a second
      local alive
      if os.time() ~= last_check then alive = proc.alive(pids_of(running)); last_check = os.time() end
      for i = #running, 1, -1 do
        local run = running[i]
        local code = own_exit(run)
        if not code and alive and not alive[run.pid] then
          code = own_exit(run)
          if not code then
            -- our wrapper lost the lock to a copy started by a dead runner
            -- in the moment before it took it: wait for that copy instead
            local what, pid = inspect1(run.dir)
            if what == "live" and pid ~= run.pid then run.pid = pid else code = -1 end
          end
        end
        if code then table.remove(running, i); reap(run); track:finish(run, code) end
      end
      track:tick()
    end
  end)
  if not ok then
    stop(running, track)
    error(err, 0)
  end
end

return L
