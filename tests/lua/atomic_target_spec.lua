-- Atomic writes rename a temporary file over their target. The target must
-- be absent or a regular file: renaming over a device, a directory or a pipe
-- would replace it (as root, `fm.save_npy("/dev/null", x)` once replaced the
-- device node with a regular file). Each writer refuses, and the target
-- survives untouched.
local fm = require "fm"
local lfs = require "lfs"

describe("atomic writes refuse to replace what is not a regular file", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(lfs.mkdir(dir))
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local writers = {
    npy = function(p) fm.save_npy(p, fm.zeros(2)) end,
    safetensors = function(p) fm.safetensors.save(p, {x = fm.zeros(2)}) end,
    png = function(p) fm.plot.scatter{p, fm.zeros(3, 2)} end,
    gif = function(p) fm.plot.gif{p, frames = {fm.zeros(3, 2)}} end,
    text = function(p) require("fm.run").write_file(p, "x") end,
  }
  for name, write in pairs(writers) do
    it(name .. " onto a directory and onto a fifo", function()
      local ext = name == "safetensors" and "safetensors" or name == "text" and "txt" or name
      local target = dir .. "/target." .. ext
      assert(lfs.mkdir(target))
      local ok, err = pcall(write, target)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("not a regular file", 1, true))
      assert.equal("directory", lfs.attributes(target, "mode"))
      local fifo = dir .. "/fifo." .. ext
      if os.execute("mkfifo '" .. fifo .. "' 2>/dev/null") then
        ok = pcall(write, fifo)
        assert.is_false(ok)
        assert.equal("named pipe", lfs.attributes(fifo, "mode"))
      end
      local leftovers = 0
      for f in lfs.dir(dir) do if f:find("tmp") then leftovers = leftovers + 1 end end
      assert.equal(0, leftovers)
    end)
  end

  it("still replaces a regular file", function()
    local p = dir .. "/x.npy"
    fm.save_npy(p, fm.zeros(2))
    fm.save_npy(p, fm.ones(3))
    assert.same({1, 1, 1}, fm.load_npy(p):totable())
  end)
end)
