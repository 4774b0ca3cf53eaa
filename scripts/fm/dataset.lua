-- fm.dataset — data sets from files, and a batch iterator.
-- (Attached by the prelude as fm.data.from_npy, fm.data.from_csv and
-- fm.data.batches, beside the C samplers of fm.data.)
--
--   local d = fm.data.from_npy("points.npy")            -- (n, d) array
--   local d = fm.data.from_csv("x.csv", {header = true, columns = {"x", "y"},
--                                        label = "class"})
--   d:sample(256) -> x (with replacement) [, labels]; d:tensor(); d:labels()
--   for xb, yb in fm.data.batches(d, {batch = 128, shuffle = true, seed = 1,
--                                     drop_last = false, epochs = 1}) do ... end
local fm = require "fm"
local args = require "fm.args"

local M = {}

local Data = {}
Data.__index = Data

local function new(x, labels, name)
  assert(fm.is_tensor(x) and x:dim() == 2, name .. ": data must be an (n, d) array")
  return setmetatable({x = x, y = labels, name = name}, Data)
end

function Data:tensor() return self.x end
function Data:labels() return self.y end
function Data:size() return #self.x end
function Data:dim() return self.x:shape()[2] end
function Data:__len() return #self.x end
function Data:__tostring()
  local s = self.x:shape()
  return ("fm.Data(%s, %d x %d)"):format(self.name, s[1], s[2])
end

--- n rows drawn uniformly with replacement (and their labels, if any)
function Data:sample(n, dtype)
  local m = #self.x
  if m == 0 then error(self.name .. ": cannot sample from an empty data set", 2) end
  local idx = fm.randint(1, m, n)
  local x = self.x:index(1, idx)
  if dtype and x:dtype() ~= dtype then x = x:to(dtype) end
  if self.y then return x, self.y:index(1, idx) end
  return x
end

--- an (n, d) array, or (n,) taken as (n, 1); labels = a second .npy (opt.)
function M.from_npy(path, opts)
  args.check("fm.data.from_npy", 1, "path", path, "string")
  opts = args.opts("fm.data.from_npy", 2, opts)
  local ok, x = pcall(fm.load_npy, path)
  if not ok then error(("fm.data.from_npy: %s: %s"):format(path, x), 2) end
  if x:dim() == 1 then x = x:reshape(#x, 1) end
  if x:dim() ~= 2 then
    error(("fm.data.from_npy: %s: expected a 1-d or 2-d array, got %d dims"):format(
      path, x:dim()), 2)
  end
  if x:dtype() ~= "float32" and x:dtype() ~= "float64" then x = x:to(fm.get_default_dtype()) end
  local labels = opts.labels and fm.load_npy(opts.labels):reshape(-1):to("int64")
  return new(x, labels, path)
end

local function split(line)
  local out = {}
  for field in (line .. ","):gmatch("([^,]*),") do
    out[#out + 1] = field:match("^%s*(.-)%s*$")
  end
  return out
end

-- column spec (a name or a 1-based index) -> index
local function col_index(spec, names, path)
  if type(spec) == "number" then return spec end
  for i, n in ipairs(names or {}) do if n == spec then return i end end
  error(("fm.data.from_csv: %s: no column named '%s'"):format(path, tostring(spec)), 4)
end

--- Comma-separated numbers, one row per line (blank lines and lines
-- starting with # skipped). opts: header (first line holds names),
-- columns (names or indices; default all but the label), label (a column
-- whose values become int64 labels), dtype. Errors name the file and line.
function M.from_csv(path, opts)
  args.check("fm.data.from_csv", 1, "path", path, "string")
  opts = args.opts("fm.data.from_csv", 2, opts)
  local f, err = io.open(path, "r")
  if not f then error("fm.data.from_csv: " .. err, 2) end
  local names, rows, labels, width = nil, {}, {}, nil
  local cols, lab
  local lineno = 0
  for line in f:lines() do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:match("^%s*$") or line:match("^%s*#") then goto continue end
    local fields = split(line)
    if opts.header and not names then
      names = fields
      goto continue
    end
    if not width then
      width = #fields
      lab = opts.label and col_index(opts.label, names, path)
      if opts.columns then
        cols = {}
        for i, c in ipairs(opts.columns) do cols[i] = col_index(c, names, path) end
      else
        cols = {}
        for i = 1, width do if i ~= lab then cols[#cols + 1] = i end end
      end
      for _, c in ipairs(cols) do
        if c < 1 or c > width then
          f:close()
          error(("fm.data.from_csv: %s:%d: column %d out of range (%d fields)"):format(
            path, lineno, c, width), 2)
        end
      end
    end
    if #fields ~= width then
      f:close()
      error(("fm.data.from_csv: %s:%d: %d fields, expected %d"):format(
        path, lineno, #fields, width), 2)
    end
    local row = {}
    for i, c in ipairs(cols) do
      local v = tonumber(fields[c])
      if not v then
        f:close()
        error(("fm.data.from_csv: %s:%d: field %d ('%s') is not a number"):format(
          path, lineno, c, fields[c]), 2)
      end
      row[i] = v
    end
    rows[#rows + 1] = row
    if lab then
      local v = math.tointeger(tonumber(fields[lab]))
      if not v then
        f:close()
        error(("fm.data.from_csv: %s:%d: label '%s' is not an integer"):format(
          path, lineno, fields[lab]), 2)
      end
      labels[#labels + 1] = v
    end
    ::continue::
  end
  f:close()
  local dtype = opts.dtype or fm.get_default_dtype()
  local x = #rows > 0 and fm.tensor(rows, dtype) or fm.zeros(0, cols and #cols or 0, dtype)
  return new(x, lab and fm.tensor(labels, "int64") or nil, path)
end

--- An iterator over batches of the rows of x (a tensor or a data object);
-- with labels (opts.labels, or the data object's), it yields (xb, yb).
-- opts: batch (default 128), shuffle (default true: a fresh fm.permutation
-- every epoch), seed (shuffle with a private generator seeded once, so the
-- global one is left as it was), drop_last (skip a short last batch),
-- epochs (default 1; math.huge for an endless stream).
function M.batches(x, opts)
  args.check("fm.data.batches", 1, "x", x, "object")
  opts = args.opts("fm.data.batches", 2, opts)
  local labels = opts.labels
  if not fm.is_tensor(x) then
    labels = labels or (x.labels and x:labels())
    x = x:tensor()
  end
  local n, bs = #x, opts.batch or 128
  assert(bs >= 1, "fm.data.batches: batch must be >= 1")
  local shuffle = opts.shuffle ~= false
  local epochs = opts.epochs or 1
  local state                                 -- the private generator
  if opts.seed then
    local saved = fm.rng_state()
    fm.seed(opts.seed)
    state = fm.rng_state()
    fm.set_rng_state(saved)
  end
  local function permutation()
    if not state then return fm.permutation(n) end
    local saved = fm.rng_state()
    fm.set_rng_state(state)
    local p = fm.permutation(n)
    state = fm.rng_state()
    fm.set_rng_state(saved)
    return p
  end
  local epoch, pos, order = 0, n, nil
  local last = opts.drop_last and n - n % bs or n
  return function()
    if pos >= last then
      epoch = epoch + 1
      if epoch > epochs or last == 0 then return nil end
      order = shuffle and permutation() or nil
      pos = 0
    end
    local m = math.min(bs, n - pos)
    local idx = order and order:narrow(1, pos + 1, m)
    pos = pos + m
    local xb = idx and x:index(1, idx) or x:narrow(1, pos - m + 1, m)
    if labels then
      return xb, idx and labels:index(1, idx) or labels:narrow(1, pos - m + 1, m)
    end
    return xb
  end
end

return M
