-- fm.prelude — run once when the fm module opens: attaches the parts of the
-- top-level API that are written in Lua. Everything else under fm.<name> is
-- loaded on first use from scripts/fm/<name>.lua.
local fm = require "fm"
local autograd = require "fm.autograd"

fm.grad = autograd.grad
fm.jvp = autograd.jvp
fm.gradcheck = autograd.gradcheck

-- fm.data is the C table of samplers (bindings/data.c); its file loaders and
-- the batch iterator live in scripts/fm/dataset.lua, loaded on first use.
for _, name in ipairs{"from_npy", "from_csv", "batches"} do
  fm.data[name] = function(...) return require("fm.dataset")[name](...) end
end

return fm
