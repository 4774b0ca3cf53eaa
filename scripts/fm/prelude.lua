-- fm.prelude — run once when the fm module opens: attaches the parts of the
-- top-level API that are written in Lua. Everything else under fm.<name> is
-- loaded on first use from scripts/fm/<name>.lua.
local fm = require "fm"
local autograd = require "fm.autograd"

fm.grad = autograd.grad
fm.jvp = autograd.jvp
fm.gradcheck = autograd.gradcheck

return fm
