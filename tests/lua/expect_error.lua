-- expect_error: the two checks the specs use for error messages.
--   local err, has = table.unpack((require "tests.lua.expect_error"))
--   has(err(f, args...), "names the argument", "and what was expected")
-- err(f, ...) calls f and returns its error message, failing when f does not
-- raise; has(msg, ...) fails unless every plain string is found in msg.
local assert = require "luassert"

local function err(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

local function has(msg, ...)
  for _, s in ipairs{...} do
    assert.is_truthy(msg:find(s, 1, true), ("'%s' not in: %s"):format(s, msg))
  end
end

return {err, has}
