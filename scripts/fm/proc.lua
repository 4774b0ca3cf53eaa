-- fm.proc: the few process helpers a pure-Lua runner needs, on top of a POSIX
-- shell and coreutils (sh, setsid, timeout, kill, sleep, nproc).
local M = {}

-- quote(s): s as one single-quoted shell word.
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- capture(cmd): run cmd in sh, return its stdout and whether it exited 0.
function M.capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok, how, code = p:close()
  return out, ok == true, code, how
end

-- sleep(s): pause s seconds. io.popen (unlike os.execute / system()) does not
-- ignore SIGINT in this process, so a Ctrl-C raises "interrupted!" here under
-- lua.c-style interpreters; if the sleep itself died of a signal (Ctrl-C sent
-- to the whole process group), raise the same error.
function M.sleep(s)
  local _, _, code, how = M.capture("sleep " .. string.format("%.3f", s))
  if how == "signal" then error("interrupted!", 0) end
  return code
end

-- nproc(): number of usable cores (1 if unknown).
function M.nproc()
  local out = M.capture("nproc 2>/dev/null")
  return math.max(1, tonumber(out:match("%d+")) or 1)
end

-- isatty(fd): is file descriptor fd of this process a terminal?
function M.isatty(fd)
  return os.execute("test -t " .. (fd or 1)) == true
end

-- spawn(script): run the shell script in its own session (setsid, so its
-- process group id is its pid), detached from our stdin/stdout; return pid.
function M.spawn(script)
  local out = M.capture("setsid sh -c " .. M.quote(script) ..
                        " >/dev/null 2>&1 </dev/null & echo $!")
  local pid = tonumber(out:match("%d+"))
  if not pid then error("fm.proc.spawn: could not start: " .. script) end
  return pid
end

-- kill_group(pid, sig): send sig (e.g. "TERM", "KILL") to process group pid.
function M.kill_group(pid, sig)
  os.execute(string.format("kill -%s -%d 2>/dev/null", sig or "TERM", pid))  -- no "--": dash rejects it
end

-- ALIVE_SH: a shell function alive PID, true when the process exists and is
-- not a zombie (a killed process stays a zombie until its parent, often
-- init, reaps it, and kill -0 still succeeds on it). Falls back to kill -0
-- without ps.
M.ALIVE_SH = 'alive() { if command -v ps >/dev/null 2>&1; then ' ..
  's=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; case $s in Z*) return 1;; esac; ' ..
  'else kill -0 "$1" 2>/dev/null; fi; }; '

-- alive(pids): set {pid = true} of those pids that still exist (zombies
-- count as gone).
function M.alive(pids)
  local res = {}
  if #pids == 0 then return res end
  local out = M.capture(M.ALIVE_SH .. "for p in " .. table.concat(pids, " ") ..
                        "; do alive $p && echo $p; done")
  for p in out:gmatch("%d+") do res[tonumber(p)] = true end
  return res
end

-- which(name): true if an executable name is on PATH.
function M.which(name)
  return os.execute("command -v " .. M.quote(name) .. " >/dev/null 2>&1") == true
end

-- now(): wall-clock seconds with sub-second resolution when available.
function M.now()
  local out = M.capture("date +%s.%N")
  return tonumber(out) or os.time()
end

return M
