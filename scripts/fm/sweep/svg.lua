-- fm.sweep.svg: the comparison figure as a small standalone SVG (no engine
-- needed): one panel per metric; per group of settings, a dot for every seed,
-- a bar at the mean and a whisker of ±1 std.
local S = {}

local function esc(s) return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")) end

local function range(gs, m)
  local lo, hi = math.huge, -math.huge
  for _, g in ipairs(gs) do
    for _, v in ipairs(g.values[m]) do lo = math.min(lo, v); hi = math.max(hi, v) end
    local st = g.stats[m]
    if st.mean and st.std then lo = math.min(lo, st.mean - st.std); hi = math.max(hi, st.mean + st.std) end
  end
  if lo > hi then return 0, 1 end
  if lo == hi then return lo - 0.5 * math.max(1e-12, math.abs(lo)), hi + 0.5 * math.max(1e-12, math.abs(hi)) end
  local pad = 0.08 * (hi - lo)
  return lo - pad, hi + pad
end

local W, H, LM, RM, TM, BM = 720, 240, 80, 20, 30, 70

local function panel(out, top, gs, m)
  local lo, hi = range(gs, m)
  local pw, ph = W - LM - RM, H - TM - BM
  local function y(v) return top + TM + ph * (1 - (v - lo) / (hi - lo)) end
  local function x(i) return LM + pw * (i - 0.5) / #gs end
  out[#out + 1] = string.format('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>', LM, top + TM, pw, ph)
  out[#out + 1] = string.format('<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>', LM, top + TM - 8, esc(m))
  for k = 0, 4 do
    local v = lo + (hi - lo) * k / 4
    out[#out + 1] = string.format('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>', LM, LM + pw, y(v), y(v))
    out[#out + 1] = string.format('<text x="%d" y="%.1f" font-size="11" text-anchor="end">%.4g</text>', LM - 6, y(v) + 4, v)
  end
  for i, g in ipairs(gs) do
    local cx = x(i)
    local st = g.stats[m]
    if st.mean then
      if st.std then
        out[#out + 1] = string.format('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c33" stroke-width="2"/>',
                                      cx, cx, y(st.mean - st.std), y(st.mean + st.std))
      end
      out[#out + 1] = string.format('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c33" stroke-width="3"/>',
                                    cx - 12, cx + 12, y(st.mean), y(st.mean))
    end
    for j, v in ipairs(g.values[m]) do
      local jitter = (#g.values[m] > 1) and (j - (#g.values[m] + 1) / 2) * 4 or 0
      out[#out + 1] = string.format('<circle cx="%.1f" cy="%.1f" r="3.5" fill="#2a6fb0" fill-opacity="0.8"/>', cx + jitter, y(v))
    end
    out[#out + 1] = string.format('<text font-size="11" text-anchor="end" transform="translate(%.1f,%d) rotate(-30)">%s</text>',
                                  cx + 4, top + TM + ph + 14, esc(g.label))
  end
end

-- comparison(title, groups, metrics): the SVG document as a string.
function S.comparison(title, gs, metrics)
  local out = { string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">',
                              W, H * #metrics + 30),
                '<rect width="100%" height="100%" fill="white"/>',
                string.format('<text x="%d" y="20" font-size="15">%s: each dot a seed, bar = mean, whisker = ±1 std</text>', LM, esc(title)) }
  for i, m in ipairs(metrics) do panel(out, 30 + (i - 1) * H, gs, m) end
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n") .. "\n"
end

return S
