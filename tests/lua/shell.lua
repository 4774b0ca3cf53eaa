-- shell: run a command for a spec (Python peers, helper tools).
--   local sh = require "tests.lua.shell"
--   local ok, out, code = sh("/usr/bin/python3 -c 'import numpy'")
-- Returns whether the command exited 0, its standard output and error
-- together, and its exit code.
return function(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok, out, code
end
