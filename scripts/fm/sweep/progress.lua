-- fm.sweep.progress: the tracker both backends report to. It decides each
-- finished run's status, keeps <out>/state.lua current, and shows a live
-- summary: one line redrawn in place on a terminal, plain lines otherwise.
local proc = require "fm.proc"
local state = require "fm.sweep.state"
local M = {}
M.__index = M

-- new{out, total, jobs, timeout, runs_state, quiet}: runs_state maps name ->
-- record (status, exit, duration, tail, settings, seed), filled beforehand
-- for skipped runs.
function M.new(o)
  local t = setmetatable({ out = o.out, total = o.total, jobs = o.jobs, timeout = o.timeout,
    records = o.records, meta = o.meta, quiet = o.quiet, tty = not o.quiet and proc.isatty(1),
    done = o.skipped or 0, failed = 0, running = 0, durations = {}, started = os.time(),
    last_draw = -1 }, M)
  return t
end

function M:save()
  state.save(self.out, { sweep = self.meta, runs = self.records })
end

local function fmt_time(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%ds", s)
end

function M:eta()
  if #self.durations == 0 then return "?" end
  local sum = 0
  for _, d in ipairs(self.durations) do sum = sum + d end
  local left = self.total - self.done - self.failed
  return fmt_time(sum / #self.durations * left / math.max(1, math.min(self.jobs, left)))
end

function M:line()
  return string.format("sweep: %d/%d done, %d running, %d failed, elapsed %s, ETA %s",
    self.done, self.total, self.running, self.failed, fmt_time(os.time() - self.started), self:eta())
end

function M:say(msg)                 -- an event line (above the live line on a tty)
  if self.quiet then return end
  if self.tty then io.write("\r\27[K", msg, "\n", self:line()) else io.write(msg, "\n") end
  io.flush()
end

function M:tick()                   -- redraw the live line at most once a second
  if not self.tty or self.quiet or os.time() == self.last_draw then return end
  self.last_draw = os.time()
  io.write("\r\27[K", self:line()); io.flush()
end

function M:start(run)
  run.t0 = proc.now()
  self.running = self.running + 1
  self.records[run.name] = { status = "running", settings = run.settings, seed = run.seed }
  self:save()
  if not self.tty then self:say("start  " .. run.name) end  -- a terminal shows the live line instead
end

-- finish(run, code): code is the wrapper's exit status (-1: vanished).
-- 124 is coreutils timeout's "timed out"; 137 = killed after the grace period.
function M:finish(run, code)
  local dur = run.t0 and proc.now() - run.t0 or 0
  self.running = self.running - 1
  local rec = { exit = code, duration = dur, settings = run.settings, seed = run.seed }
  if code == 0 and state.metrics(run.dir) then
    rec.status = "done"
    self.done = self.done + 1
    self.durations[#self.durations + 1] = dur
  else
    local timed_out = self.timeout and (code == 124 or (code == 137 and dur >= self.timeout))
    rec.status = timed_out and "timeout" or "failed"
    if code == 0 then rec.error = "exited 0 but wrote no metrics.jsonl" end
    if run.error then rec.error = run.error end
    rec.tail = state.tail(run.dir .. "/log.txt", 20)
    self.failed = self.failed + 1
  end
  self.records[run.name] = rec
  self:save()
  self:say(string.format("%-6s %s (exit %d, %s)", rec.status, run.name, code, fmt_time(dur)))
end

-- interrupted(run): the run was stopped by Ctrl-C; it will be retried.
function M:interrupted(run)
  self.running = math.max(0, self.running - 1)
  self.records[run.name] = { status = "interrupted", settings = run.settings, seed = run.seed,
                             tail = state.tail(run.dir .. "/log.txt", 20) }
  self:save()
end

function M:close()
  if self.tty then io.write("\r\27[K", self:line(), "\n"); io.flush()
  elseif not self.quiet then print(self:line()) end
end

return M
