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
--
-- With opts.curve (fm.train.loop{progress = "curve"}) a terminal shows the
-- loss curve instead of the bar: a braille plot of the loss so far
-- (fm.plot.term.curve) under the status line, redrawn in place with ANSI
-- cursor movement at most 4 times a second. The loss history is kept in at
-- most 512 buckets (pairs are merged as it grows), so memory stays flat over
-- any number of steps. Where the bar would not be drawn (not a terminal,
-- FM_PROGRESS=lines) the plain lines are printed as without it.
local fm = require "fm"
local args = require "fm.args"
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
-- opts.lines (how many plain lines over the run, 10), opts.curve (draw the
-- loss curve in place of the bar), opts.curve_height (its lines, 12).
function M.new(total, opts)
  args.check("fm.progress.new", 1, "total", total, "number?")
  opts = args.opts("fm.progress.new", 2, opts)
  local now = fm.clock()
  local mode = opts.mode or M.mode()
  if opts.curve and mode == "bar" then mode = "curve" end
  return setmetatable({
    total = total, label = opts.label or "", out = opts.out or io.stdout,
    mode = mode, width = opts.width or 24, curve_height = opts.curve_height or 12,
    history = {x = {}, y = {}, size = 1, sx = 0, sy = 0, k = 0}, drawn = 0,
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

-- record(step, v): the loss history in buckets of `size` steps; when 512
-- buckets are full, neighbours are merged and the buckets hold twice as many.
local max_buckets = 512
function P:record(step, v)
  local h = self.history
  h.sx, h.sy, h.k = h.sx + step, h.sy + v, h.k + 1
  if h.k < h.size then return end
  h.x[#h.x + 1], h.y[#h.y + 1] = h.sx / h.k, h.sy / h.k
  h.sx, h.sy, h.k = 0, 0, 0
  if #h.x == max_buckets then
    for i = 1, max_buckets // 2 do
      h.x[i], h.y[i] = (h.x[2 * i - 1] + h.x[2 * i]) / 2, (h.y[2 * i - 1] + h.y[2 * i]) / 2
    end
    for i = max_buckets // 2 + 1, max_buckets do h.x[i], h.y[i] = nil, nil end
    h.size = 2 * h.size
  end
end

-- draw_curve(text): the curve so far under the status line, over the last
-- frame drawn (the cursor goes back up as many lines as that frame had).
function P:draw_curve(text)
  local h = self.history
  local x, y = {table.unpack(h.x)}, {table.unpack(h.y)}
  if h.k > 0 then x[#x + 1], y[#y + 1] = h.sx / h.k, h.sy / h.k end
  local frame = self.label .. " " .. text .. "\n"
  if #y > 0 then
    local _, cols = fm._terminal(1)
    frame = require("fm.plot.term").curve(x, y, {
      print = false, title = self.label .. " " .. text,
      width = math.max(20, (cols or tonumber(os.getenv("COLUMNS")) or 80) - 1),
      height = self.curve_height, xlim = {1, math.max(2, self.total)}})
  end
  local out = {}
  if self.drawn > 0 then out[1] = string.format("\r\27[%dA", self.drawn) end
  for line in frame:gmatch("([^\n]*)\n") do out[#out + 1] = line .. "\27[K\n" end
  self.drawn = #out - (self.drawn > 0 and 1 or 0)
  self.out:write(table.concat(out))
  self.out:flush()
end

-- update(step, values): record progress; draws when due.
function P:update(step, values)
  self.step = step
  if self.mode == "off" then return end
  local now = fm.clock()
  if self.mode == "curve" then
    local text = self:status(step, values, now)
    local v = values and values.loss
    if type(v) == "number" and v == v and math.abs(v) < math.huge then self:record(step, v) end
    if now - self.last_draw < 0.25 and step < self.total then return end
    self.last_draw = now
    self:draw_curve(text)
  elseif self.mode == "bar" then
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
