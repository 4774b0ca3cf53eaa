-- fm.progress: how far a loop is. On a terminal: one line redrawn in place
-- (\r) at most 10 times a second, with a bar, steps/s, the loss (smoothed)
-- and the ETA. When stdout is not a terminal (a log file, a sweep, a pipe):
-- a plain line at every tenth of the way, so logs stay short and greppable.
--
--   local bar = require("fm.progress").new(steps, {label = "train"})
--   for step = 1, steps do ...; bar:update(step, {loss = l}) end
--   bar:done()
--
-- FM_PROGRESS=bar|lines|off overrides the detection (off: print nothing).
local fm = require "fm"
local M = {}
local P = {}
P.__index = P

local detected
-- mode(): "bar" on a terminal, "lines" otherwise; checked once per process.
function M.mode()
  if detected == nil then
    local env = os.getenv("FM_PROGRESS")
    if fm._dist.rank() > 0 then detected = "off"   -- rank 0 reports (docs/dist.md)
    elseif env == "bar" or env == "lines" or env == "off" then detected = env
    else
      detected = (os.getenv("TERM") or "dumb") ~= "dumb"
        and os.execute("test -t 1") == true and "bar" or "lines"
    end
  end
  return detected
end

local function duration(s)
  if s ~= s or s == math.huge then return "?" end
  if s < 60 then return string.format("%.1fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end
M.duration = duration

-- new(total, opts): opts.label, opts.out (a file, default io.stdout),
-- opts.mode ("bar" | "lines" | "off"), opts.width (bar cells, 24),
-- opts.lines (how many plain lines over the run, 10).
function M.new(total, opts)
  opts = opts or {}
  local now = fm.clock()
  return setmetatable({
    total = total, label = opts.label or "", out = opts.out or io.stdout,
    mode = opts.mode or M.mode(), width = opts.width or 24,
    every = math.max(1, total // (opts.lines or 10)),
    t0 = now, last_draw = -math.huge, smooth = {}, step = 0,
  }, P)
end

-- the text after the bar: counts, rate, values, ETA
function P:status(step, values, now)
  local dt = now - self.t0
  local rate = dt > 0 and step / dt or 0
  local parts = { string.format("%d/%d", step, self.total),
                  string.format("%.0f steps/s", rate) }
  local keys = {}
  for k in pairs(values or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = values[k]
    if type(v) == "number" then
      -- exponential moving average: a readable loss on a noisy estimate
      local s = self.smooth[k]
      s = s and 0.9 * s + 0.1 * v or v
      self.smooth[k] = s
      parts[#parts + 1] = string.format("%s %.4g", k, s)
    end
  end
  if step < self.total then
    parts[#parts + 1] = "ETA " .. (rate > 0 and duration((self.total - step) / rate) or "?")
  else
    parts[#parts + 1] = "in " .. duration(dt)
  end
  return table.concat(parts, "  ")
end

-- update(step, values): record progress; draws when due.
function P:update(step, values)
  self.step = step
  if self.mode == "off" then return end
  local now = fm.clock()
  if self.mode == "bar" then
    -- the smoothed values need every update, the drawing only 10 per second
    local text = self:status(step, values, now)
    if now - self.last_draw < 0.1 and step < self.total then return end
    self.last_draw = now
    local frac = self.total > 0 and math.min(1, step / self.total) or 1
    local full = math.floor(frac * self.width + 0.5)
    local bar = string.rep("#", full) .. string.rep(".", self.width - full)
    self.out:write(string.format("\r%s [%s] %3d%%  %s\27[K", self.label, bar,
                                 math.floor(frac * 100), text))
    self.out:flush()
  else
    local text = self:status(step, values, now)
    if step % self.every == 0 or step == self.total or step == 1 then
      self.out:write(string.format("%s %s\n", self.label, text))
      self.out:flush()
    end
  end
end

-- done(): end the bar's line (a terminal) so later output starts clean.
function P:done()
  if self.mode == "bar" then self.out:write("\n"); self.out:flush() end
  return fm.clock() - self.t0
end

return M
