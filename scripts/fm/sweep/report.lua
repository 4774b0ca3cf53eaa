-- fm.sweep.report: the sweep's results. summary.csv / summary.md: one row per
-- run (settings, seed, status, final metrics); grouped.csv / grouped.md: runs
-- that differ only in the seed, mean ± std (sample std, n - 1) of each metric
-- over the finished ones; comparison.svg (and comparison.png through fm.plot
-- when it is available): every run's metric per group, mean and ±1 std.
local state = require "fm.sweep.state"
local spec = require "fm.sweep.spec"
local svg = require "fm.sweep.svg"
local R = {}

local function num(v)
  if type(v) ~= "number" then return v == nil and "" or tostring(v) end
  if math.type(v) == "integer" then return tostring(v) end
  return string.format("%.6g", v)
end

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function write_csv(path, header, rows)
  local lines = {}
  local function add(row)
    local f = {}
    for i, v in ipairs(row) do f[i] = csv_field(v) end
    lines[#lines + 1] = table.concat(f, ",")
  end
  add(header)
  for _, r in ipairs(rows) do add(r) end
  state.write_atomic(path, table.concat(lines, "\n") .. "\n")
end

local function write_md(path, title, header, rows)
  local function cell(v) return (tostring(v):gsub("|", "\\|"):gsub("\n", " ")) end
  local lines = { "# " .. title, "", "| " .. table.concat(header, " | ") .. " |" }
  local sep = {}
  for i = 1, #header do sep[i] = "---" end
  lines[#lines + 1] = "|" .. table.concat(sep, "|") .. "|"
  for _, r in ipairs(rows) do
    local c = {}
    for i = 1, #header do c[i] = cell(r[i] == nil and "" or r[i]) end
    lines[#lines + 1] = "| " .. table.concat(c, " | ") .. " |"
  end
  state.write_atomic(path, table.concat(lines, "\n") .. "\n")
end

-- mean_std(xs): mean and sample standard deviation (nil std for n = 1).
function R.mean_std(xs)
  local n, s = #xs, 0
  if n == 0 then return nil end
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  if n == 1 then return m, nil end
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - m) ^ 2 end
  return m, math.sqrt(ss / (n - 1))
end

-- collect(sweep, runs, records): setting keys, metric names, per-run rows.
local function collect(sw, runs, records)
  local keyset, metricset = {}, {}
  for _, r in ipairs(runs) do
    for k in pairs(r.settings) do keyset[k] = true end
    r.final = state.metrics(r.dir) or {}
    if not sw.metrics then
      for k, v in pairs(r.final) do if type(v) == "number" and k ~= "step" then metricset[k] = true end end
    end
    r.record = records[r.name] or { status = state.finished(r.dir) and "done" or "pending" }
  end
  return spec.sorted_keys(keyset), sw.metrics or spec.sorted_keys(metricset)
end

-- groups(runs, keys): runs grouped by settings (seed aside), in run order.
local function groups(runs, keys)
  local list, by = {}, {}
  for _, r in ipairs(runs) do
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. spec.fmt(r.settings[k] == nil and "" or r.settings[k]) end
    local label = #parts > 0 and table.concat(parts, " ") or "all"
    if not by[label] then by[label] = { label = label, settings = r.settings, runs = {} }; list[#list + 1] = by[label] end
    table.insert(by[label].runs, r)
  end
  return list
end

-- write(sweep, runs, records): all result files into sweep.out; returns the
-- grouped table (list of {label, settings, n, stats = {metric = {mean, std}}}).
function R.write(sw, runs, records)
  local keys, metrics = collect(sw, runs, records)
  local header = { "run", "status", "exit" }
  for _, k in ipairs(keys) do header[#header + 1] = k end
  header[#header + 1] = "seed"
  for _, m in ipairs(metrics) do header[#header + 1] = m end
  header[#header + 1] = "seconds"
  local rows = {}
  for _, r in ipairs(runs) do
    local row = { r.name, r.record.status, num(r.record.exit) }
    for _, k in ipairs(keys) do row[#row + 1] = num(r.settings[k]) end
    row[#row + 1] = num(r.seed)
    for _, m in ipairs(metrics) do row[#row + 1] = r.record.status == "done" and num(r.final[m]) or "" end
    row[#row + 1] = r.record.duration and string.format("%.1f", r.record.duration) or ""
    rows[#rows + 1] = row
  end
  write_csv(sw.out .. "/summary.csv", header, rows)
  write_md(sw.out .. "/summary.md", "Sweep " .. sw.name .. ": runs", header, rows)

  local gs = groups(runs, keys)
  local gh_csv, gh_md = {}, {}
  for _, k in ipairs(keys) do gh_csv[#gh_csv + 1] = k; gh_md[#gh_md + 1] = k end
  gh_csv[#gh_csv + 1] = "n"; gh_md[#gh_md + 1] = "n"
  for _, m in ipairs(metrics) do
    gh_csv[#gh_csv + 1] = m .. "_mean"; gh_csv[#gh_csv + 1] = m .. "_std"
    gh_md[#gh_md + 1] = m
  end
  local grows_csv, grows_md = {}, {}
  for _, g in ipairs(gs) do
    g.stats, g.values = {}, {}
    local done = {}
    for _, r in ipairs(g.runs) do if r.record.status == "done" then done[#done + 1] = r end end
    g.n = #done
    local rc, rm = {}, {}
    for _, k in ipairs(keys) do rc[#rc + 1] = num(g.settings[k]); rm[#rm + 1] = num(g.settings[k]) end
    rc[#rc + 1] = g.n; rm[#rm + 1] = string.format("%d/%d", g.n, #g.runs)
    for _, m in ipairs(metrics) do
      local xs = {}
      for _, r in ipairs(done) do if type(r.final[m]) == "number" then xs[#xs + 1] = r.final[m] end end
      local mean, std = R.mean_std(xs)
      g.stats[m] = { mean = mean, std = std }
      g.values[m] = xs
      rc[#rc + 1] = num(mean); rc[#rc + 1] = num(std)
      rm[#rm + 1] = mean and (num(mean) .. (std and (" ± " .. num(std)) or "")) or ""
    end
    grows_csv[#grows_csv + 1] = rc; grows_md[#grows_md + 1] = rm
  end
  write_csv(sw.out .. "/grouped.csv", gh_csv, grows_csv)
  write_md(sw.out .. "/grouped.md", "Sweep " .. sw.name .. ": mean ± std over seeds", gh_md, grows_md)
  if #metrics > 0 then
    state.write_atomic(sw.out .. "/comparison.svg", svg.comparison(sw.name, gs, metrics))
    R.fm_plot(sw, gs, metrics)
  end
  return gs, metrics
end

-- fm_plot: comparison.png through fm.plot.scatter when the engine provides it
-- (x = group number, y = metric, one point per finished run); a missing or
-- failing fm.plot leaves the SVG as the figure.
function R.fm_plot(sw, gs, metrics)
  local ok, fm = pcall(require, "fm")
  if not ok or type(fm) ~= "table" or not (fm.plot and fm.plot.scatter and fm.tensor) then return false end
  local pts = {}
  for i, g in ipairs(gs) do
    for _, v in ipairs(g.values[metrics[1]]) do pts[#pts + 1] = { i, v } end
  end
  if #pts == 0 then return false end
  local names = {}
  for i, g in ipairs(gs) do names[i] = i .. ": " .. g.label end
  return (pcall(function()
    fm.plot.scatter { sw.out .. "/comparison.png", fm.tensor(pts),
                      title = sw.name .. ": " .. metrics[1] .. " per group (one point per seed)",
                      xlabel = table.concat(names, "   "), ylabel = metrics[1] }
  end))
end

return R
