-- fm.plot: every kind writes a file of the right size and format; data may
-- be nested tables (or tensors); callbacks are called once with the whole
-- grid; bad options raise errors naming the field, leaving no file behind.
local fm = require "fm"
local lfs = require "lfs"

local dir

local function path(name) return dir .. "/" .. name end

local function slurp(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Width and height from the PNG IHDR chunk.
local function png_size(p)
  local s = slurp(p)
  assert(s and s:sub(1, 8) == "\137PNG\r\n\26\n", "not a PNG: " .. p)
  local w, h = string.unpack(">I4I4", s, 17)
  return w, h
end

-- Number of images in a GIF, walking its block structure.
local function gif_frames(p)
  local s = assert(slurp(p))
  assert(s:sub(1, 6) == "GIF89a", "not a GIF89a")
  local flags = s:byte(11)
  local pos = 14
  if flags & 0x80 ~= 0 then pos = pos + 3 * (2 << (flags & 7)) end
  local function skip_subblocks()
    while true do
      local n = s:byte(pos); pos = pos + 1
      if n == 0 then return end
      pos = pos + n
    end
  end
  local images = 0
  while true do
    local b = s:byte(pos)
    if b == 0x3B then return images end
    if b == 0x21 then
      pos = pos + 2
      skip_subblocks()
    elseif b == 0x2C then
      local lflags = s:byte(pos + 9)
      pos = pos + 10
      if lflags & 0x80 ~= 0 then pos = pos + 3 * (2 << (lflags & 7)) end
      pos = pos + 1 -- LZW minimum code size
      skip_subblocks()
      images = images + 1
    else
      error(("bad GIF block 0x%02x at %d"):format(b or -1, pos))
    end
  end
end

local function ring(n, r, cx)
  local t = {}
  for i = 1, n do
    local a = 2 * math.pi * i / n
    t[i] = {(cx or 0) + r * math.cos(a), r * math.sin(a)}
  end
  return t
end

-- A PDF as fmlua writes it (cairo): "%PDF-" first, "%%EOF" last, not a
-- stub; its pages' MediaBoxes (cairo writes page objects uncompressed).
local function pdf_pages(p)
  local s = assert(slurp(p))
  assert(s:sub(1, 5) == "%PDF-", "not a PDF: " .. p)
  assert(s:find("%%EOF%s*$"), "no %%EOF at the end of " .. p)
  assert(#s > 1500, ("%s: only %d bytes"):format(p, #s))
  local boxes = {}
  for w, h in s:gmatch("/Type /Page%f[^%w].-/MediaBox %[ 0 0 ([%d.]+) ([%d.]+) %]") do
    boxes[#boxes + 1] = {tonumber(w), tonumber(h)}
  end
  return boxes
end

local has_pdfinfo = os.execute("command -v pdfinfo >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1")

-- poppler's view of the file: pages, page size, and the share of dark
-- pixels of its rendering at 72 dpi (one pixel per point) in grey.
local function poppler(p)
  local f = assert(io.popen("pdfinfo " .. p .. " 2>&1"))
  local info = f:read("a")
  f:close()
  local pages = tonumber(info:match("Pages:%s+(%d+)"))
  local w, h = info:match("Page size:%s+([%d.]+) x ([%d.]+) pts")
  f = assert(io.popen("pdftoppm -gray -r 72 -singlefile " .. p .. " 2>&1"))
  local pgm = f:read("a")
  f:close()
  local pw, ph, header = pgm:match("^P5%s+(%d+)%s+(%d+)%s+255%s()")
  assert(header, "pdftoppm gave no PGM for " .. p .. ": " .. pgm:sub(1, 200))
  local dark = 0
  for i = header, #pgm do
    if pgm:byte(i) < 128 then dark = dark + 1 end
  end
  return {pages = pages, w = tonumber(w), h = tonumber(h), px = {tonumber(pw), tonumber(ph)},
          dark = dark / (#pgm - header + 1), info = info}
end

local function listing()
  local names = {}
  for f in lfs.dir(dir) do
    if f ~= "." and f ~= ".." then names[#names + 1] = f end
  end
  table.sort(names)
  return names
end

describe("fm.plot", function()
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(lfs.mkdir(dir))
  end)
  after_each(function()
    for _, f in ipairs(listing()) do os.remove(path(f)) end
    lfs.rmdir(dir)
  end)

  it("scatter writes a 640x480 PNG, scaled by scale, and SVG", function()
    fm.plot.scatter{path("s.png"), ring(100, 1), reference = ring(200, 2),
                    title = "rings", labels = {"model", "data"}}
    assert.same({640, 480}, {png_size(path("s.png"))})
    fm.plot.scatter{path("s2.png"), x = ring(10, 1), scale = 2, size = 5, alpha = 0.5}
    assert.same({1280, 960}, {png_size(path("s2.png"))})
    fm.plot.scatter{path("s.svg"), ring(10, 1), width = 300, height = 200}
    local svg = slurp(path("s.svg"))
    assert.equal("<?xml", svg:sub(1, 5))
    assert.truthy(svg:find("<svg", 1, true) and svg:find("</svg>", 1, true))
    assert.truthy(svg:find('width="300', 1, true))
  end)

  it("scatter skips NaN points but refuses a set with none finite", function()
    fm.plot.scatter{path("nan.png"), {{0 / 0, 1}, {0, 0}}}
    assert.truthy(slurp(path("nan.png")))
    assert.has_error(function() fm.plot.scatter{path("bad.png"), {{0 / 0, 0 / 0}}} end,
                     "fm.plot.scatter: no finite points to draw (x is (1, 2))")
    assert.same({"nan.png"}, listing()) -- no file, no temporary left
  end)

  it("trajectories takes a (T, n, 2) table", function()
    fm.plot.trajectories{path("t.png"), {ring(20, 1), ring(20, 1.5), ring(20, 2)},
                         title = "paths"}
    assert.same({640, 480}, {png_size(path("t.png"))})
    assert.has_error(function() fm.plot.trajectories{path("t2.png"), ring(20, 1)} end,
                     "fm.plot.trajectories: traj must be (T, n, 2) with T >= 1, got (20, 2)")
  end)

  it("quiver calls the field once with the whole grid and t", function()
    local calls, seen_t, first = 0, nil, nil
    fm.plot.quiver{path("q.png"), field = function(x, t)
      calls, seen_t = calls + 1, t
      local ok, tab = pcall(function() return x:totable() end)
      if ok then first = tab[1] end
      local v = {}
      for i = 1, 100 do v[i] = {math.cos(i), math.sin(i)} end
      return v
    end, t = 0.5, xlim = {-2, 2}, ylim = {-1, 1}, grid = 10}
    assert.equal(1, calls)
    assert.equal(0.5, seen_t)
    if first then -- with the tensor API: the first cell centre (lo + d/2)
      assert.near(-1.8, first[1], 1e-6)
      assert.near(-0.9, first[2], 1e-6)
    end
    assert.same({640, 480}, {png_size(path("q.png"))})
    fm.plot.quiver{path("q2.png"), points = {{0, 0}, {1, 1}}, vectors = {{1, 0}, {0, 1}}}
    assert.truthy(slurp(path("q2.png")))
    assert.has_error(function()
      fm.plot.quiver{path("q3.png"), field = function() return {{1, 2}} end, grid = 3}
    end, "fm.plot.quiver: field returned (1, 2), expected (9, 2) (one vector per grid point)")
    assert.has_error(function() fm.plot.quiver{path("q4.png")} end)
  end)

  it("heatmap evaluates fn once on res^2 points, or bins samples", function()
    local calls = 0
    fm.plot.heatmap{path("h.png"), fn = function(x)
      calls = calls + 1
      local v = {}
      for i = 1, 20 * 20 do v[i] = math.exp(-i / 50) end
      return v
    end, res = 20, log = true, colormap = "magma", title = "density"}
    assert.equal(1, calls)
    assert.same({640, 480}, {png_size(path("h.png"))})
    fm.plot.heatmap{path("hs.png"), samples = ring(500, 1), res = 30}
    assert.truthy(slurp(path("hs.png")))
    assert.has_error(function()
      fm.plot.heatmap{path("h2.png"), fn = function() return {1} end, res = 2}
    end, "fm.plot.heatmap: fn returned (1,), expected (4,) (one value per grid point)")
    assert.has_error(function()
      fm.plot.heatmap{path("h3.png"), samples = ring(5, 1), colormap = "jet"}
    end, "fm.plot.heatmap: colormap must be one of viridis, magma, gray, coolwarm; got 'jet'")
  end)

  it("curve draws y, x and several series", function()
    fm.plot.curve{path("c.png"), y = {3, 2, 1.5, 1.2}, ylog = true, title = "loss"}
    fm.plot.curve{path("c2.png"), series = {{name = "a", y = {1, 2, 3}},
                                            {name = "b", y = {3, 1, 2}, x = {10, 20, 30}}}}
    assert.same({640, 480}, {png_size(path("c2.png"))})
    assert.has_error(function() fm.plot.curve{path("c3.png")} end,
                     "fm.plot.curve: y is missing")
    assert.has_error(function()
      fm.plot.curve{path("c4.png"), series = {{y = {1, 2}, x = {1}}}}
    end, "fm.plot.curve: series[1].x has 1 values but y has 2")
    assert.has_error(function() fm.plot.curve{path("c5.png"), y = {0, -1}, ylog = true} end,
                     "fm.plot.curve: no finite positive values to draw")
  end)

  it("snapshots, images and gif", function()
    local frames = {ring(50, 1), ring(50, 1.5), ring(50, 2)}
    fm.plot.snapshots{path("sn.png"), frames = frames, times = {0, 0.5, 1},
                      reference = ring(80, 2), height = 300}
    assert.same({40 + 230 * 3, 300}, {png_size(path("sn.png"))})
    fm.plot.images{path("i.png"), images = {{{0, 1}, {1, 0}}, {{0.5, 0.5}, {0.2, 0.9}}}, cols = 2}
    assert.truthy(slurp(path("i.png")))
    fm.plot.gif{path("g.gif"), frames = frames, times = {0, 0.5, 1}, delay = 4,
                xlim = {-3, 3}, ylim = {-3, 3}}
    assert.equal(3, gif_frames(path("g.gif")))
    assert.has_error(function()
      fm.plot.snapshots{path("x.png"), frames = frames, times = {0, 1}}
    end, "fm.plot.snapshots: times has 2 values but frames has 3")
    -- names: one title per panel (experiments comparing settings side by side)
    fm.plot.snapshots{path("sn2.png"), frames = frames, names = {"a", "b", "c"}, height = 300}
    assert.same({40 + 230 * 3, 300}, {png_size(path("sn2.png"))})
    assert.has_error(function()
      fm.plot.snapshots{path("x.png"), frames = frames, names = {"a", "b"}}
    end, "fm.plot.snapshots: names has 2 entries but frames has 3")
    assert.has_error(function()
      fm.plot.snapshots{path("x.png"), frames = frames, names = {"a", 2, "c"}}
    end, "fm.plot.snapshots: names[2] must be a string")
    assert.has_error(function() fm.plot.gif{path("x.png"), frames = frames} end)
    -- image grids with row names, and a GIF of image grids (a generation)
    local ims = fm.rand(6, 5, 4)
    fm.plot.images{path("in.png"), images = ims, cols = 3, names = {"first", "second"}}
    fm.plot.images{path("i0.png"), images = ims, cols = 3}
    assert(png_size(path("in.png")) ~= png_size(path("i0.png")), "names change the layout")
    fm.plot.images_gif{path("ig.gif"), frames = {ims, ims * 0.5, ims:to("float64")},
                       times = {0, 0.5, 1}, cols = 3, names = {"a", "b"}, title = "flow"}
    assert.equal(3, gif_frames(path("ig.gif")))
    fm.plot.images_gif{path("ig8.gif"), frames = {(ims * 255):to("uint8")}}
    assert.equal(1, gif_frames(path("ig8.gif")))
    assert.has_error(function()
      fm.plot.images_gif{path("x.gif"), frames = {ims, fm.rand(6, 4, 4)}}
    end, "fm.plot.images_gif: frame 2 is (6, 4, 4), frame 1 (6, 5, 4)")
    assert.has_error(function()
      fm.plot.images{path("x.png"), images = ims, names = {"a", 3}}
    end, "fm.plot.images: names[2] must be a string")
    assert.has_error(function() fm.plot.gif{path("x.gif"), frames = {}} end,
                     "fm.plot.gif: frames must hold 1 to 256 frames, got 0")
  end)

  it("every kind writes a one-page PDF of the figure's size, by the extension", function()
    local frames = {ring(50, 1), ring(50, 1.5), ring(50, 2)}
    local grid = {}
    for i = 1, 100 do grid[i] = {math.cos(i), math.sin(i)} end
    local kinds = {
      scatter = function(p) fm.plot.scatter{p, ring(100, 1), reference = ring(200, 2), title = "rings"} end,
      trajectories = function(p) fm.plot.trajectories{p, {ring(20, 1), ring(20, 1.5), ring(20, 2)}} end,
      quiver = function(p) fm.plot.quiver{p, field = function() return grid end, grid = 10} end,
      heatmap = function(p) fm.plot.heatmap{p, samples = ring(500, 1), res = 30, width = 500, height = 400} end,
      curve = function(p) fm.plot.curve{p, y = {3, 2, 1.5, 1.2}, ylog = true, title = "loss"} end,
      snapshots = function(p) fm.plot.snapshots{p, frames = frames, times = {0, 0.5, 1}, height = 300} end,
      images = function(p) fm.plot.images{p, images = fm.rand(6, 5, 4), cols = 3, names = {"a", "b"}} end,
    }
    for name, draw in pairs(kinds) do
      draw(path(name .. ".png"))
      draw(path(name .. ".PDF")) -- the extension in any case, as .png / .svg
      local w, h = png_size(path(name .. ".png")) -- pixels at scale 1 = points
      assert.same({{w, h}}, pdf_pages(path(name .. ".PDF")), name)
      if has_pdfinfo then
        local pop = poppler(path(name .. ".PDF"))
        assert.equal(1, pop.pages, name .. ": " .. pop.info)
        assert.same({w, h}, {pop.w, pop.h}, name)
        assert.same({w, h}, pop.px, name)
        -- ink: axes, marks or image cells, but not a black page
        assert.is_true(pop.dark > 0.002 and pop.dark < 0.9, ("%s: %.4f dark"):format(name, pop.dark))
      end
    end
    if not has_pdfinfo then print("plot_spec: no pdfinfo/pdftoppm (poppler-utils): PDFs checked by structure only") end
    fm.plot.scatter{path("small.pdf"), ring(10, 1), width = 300, height = 200, scale = 3}
    assert.same({{300, 200}}, pdf_pages(path("small.pdf"))) -- scale is for rasters only
    assert.has_error(function() fm.plot.gif{path("x.pdf"), frames = frames} end)
  end)

  it("names the missing or bad field", function()
    assert.has_error(function() fm.plot.scatter{} end,
      "fm.plot.scatter: the first entry of the options must be the output path (a string), got nil")
    assert.has_error(function() fm.plot.scatter{path("a.png")} end, "fm.plot.scatter: x is missing")
    assert.has_error(function() fm.plot.scatter{path("a.png"), {{1, 2, 3}}} end,
                     "fm.plot.scatter: x must be (n, 2), got (1, 3)")
    assert.has_error(function() fm.plot.scatter{path("a.png"), ring(3, 1), xlim = {1, 0}} end,
                     "fm.plot.scatter: xlim must be {lo, hi} with finite lo < hi")
    assert.has_error(function() fm.plot.scatter{path("a.png"), ring(3, 1), title = {}} end,
                     "fm.plot.scatter: title must be a string, got table")
    assert.has_error(function() fm.plot.scatter{path("a.png"), ring(3, 1), reference = 3} end,
                     "fm.plot.scatter: reference must be a tensor or a table of numbers, got number")
    assert.has_error(function() fm.plot.scatter{path("a.jpg"), ring(3, 1)} end,
                     "fm.plot.scatter: '" .. path("a.jpg") .. "' must end in .png, .svg or .pdf")
    assert.has_error(function() fm.plot.scatter{dir .. "/no/such/dir/a.png", ring(3, 1)} end)
    assert.same({}, listing())
  end)
end)
