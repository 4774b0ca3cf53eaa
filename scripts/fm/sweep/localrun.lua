-- fm.sweep.localrun: the local backend. Each run is its own process group
-- (setsid), wrapped in a shell that applies the timeout, sends stdout+stderr
-- to <dir>/log.txt and, on the way out, writes the exit status to
-- <dir>/.exit through a temporary file and a rename. The runner polls those
-- files, keeps N runs going, and on Ctrl-C stops the groups it started.
-- Whenever a run ends (normal exit, timeout, vanished, interrupted) its whole
-- process group is killed: children a run left behind (os.execute("... &"),
-- or the grandchildren `timeout --foreground` does not signal) never outlive it.
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
  parts[#parts + 1] = q(ctx.fmlua)
  parts[#parts + 1] = q(ctx.script)
  parts[#parts + 1] = "--out " .. q(run.dir)
  for _, a in ipairs(run.args) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

-- wrapper(ctx, run): command + log redirection + atomic exit-status file.
function L.wrapper(ctx, run)
  local d = q(run.dir)
  return string.format("%s > %s/log.txt 2>&1 < /dev/null; echo $? > %s/.exit.tmp && mv -f %s/.exit.tmp %s/.exit",
                       L.command(ctx, run), d, d, d, d)
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
    local code = state.exit_code(r.dir)
    if code then track:finish(r, code) else track:interrupted(r) end
  end
end

-- run(ctx, todo, track): run the list; raises "interrupted!" on Ctrl-C after
-- stopping the children and recording them as interrupted.
function L.run(ctx, todo, track)
  local queue, running = {}, {}
  for i = #todo, 1, -1 do queue[#queue + 1] = todo[i] end
  local last_check = os.time()
  local ok, err = pcall(function()
    while #queue > 0 or #running > 0 do
      while #running < ctx.jobs and #queue > 0 do
        local run = table.remove(queue)
        os.execute("mkdir -p " .. q(run.dir))
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
        local code = state.exit_code(run.dir)
        if not code and alive and not alive[run.pid] then code = state.exit_code(run.dir) or -1 end
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
