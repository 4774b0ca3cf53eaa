--- fm.checkpoint — a whole training state in one safetensors file, so that
-- a long run can stop at any time and go on where it stopped.
--
--   fm.checkpoint.save(path, {net = net, optimizer = opt, ema = e, step = i,
--                             meta = {key = "value"}})
--   local info = fm.checkpoint.load(path, {net = net, optimizer = opt, ema = e})
--   info.step, info.meta
--
-- The file holds the network's parameters under their names, the EMA
-- averages under "ema.<name>", the optimiser's state under "optim.*" and the
-- step and meta as metadata. It is written to a temporary file and renamed
-- (fm.safetensors.save), so a kill leaves the previous checkpoint whole.
-- load checks every tensor (present, same dtype and shape) before changing
-- anything; fm.load(path, net) reads the same file's parameters alone.
local fm = require "fm"

local M = {}

local function tensors_of(state)
  if not state.net or not state.net.state_dict then
    error("fm.checkpoint: net = a module is required", 3)
  end
  local out = {}
  for k, t in pairs(state.net:state_dict()) do out[k] = t end
  if state.ema then for k, t in pairs(state.ema:state_dict()) do out[k] = t end end
  return out
end

function M.save(path, state)
  if type(path) ~= "string" then error("fm.checkpoint.save: path must be a string", 2) end
  -- a data-parallel job: every rank holds the same state; rank 0 writes it
  -- (and every rank loads it, at any number of ranks: docs/dist.md)
  if fm._dist.rank() > 0 then return end
  local out, meta = tensors_of(state), {}
  for k, v in pairs(state.meta or {}) do meta[k] = tostring(v) end
  meta["checkpoint.step"] = tostring(state.step or 0)
  if state.optimizer then
    local st, m = state.optimizer:state_tensors()
    for k, t in pairs(st) do out[k] = t end
    for k, v in pairs(m) do meta[k] = v end
  end
  fm.safetensors.save(path, out, meta)
end

function M.load(path, state)
  if type(path) ~= "string" then error("fm.checkpoint.load: path must be a string", 2) end
  local targets = tensors_of(state)
  local ok, n, meta = pcall(fm.safetensors.load_into, path, targets, false)
  if not ok then error("fm.checkpoint.load: " .. tostring(n), 2) end
  if state.optimizer then
    local ok2, err = pcall(state.optimizer.load_state, state.optimizer, path)
    if not ok2 then error("fm.checkpoint.load: " .. tostring(err), 2) end
  end
  local step = math.tointeger(tonumber(meta["checkpoint.step"])) or 0
  if state.ema then state.ema.count = step end    -- the EMA's warm-up goes on
  local user = {}
  for k, v in pairs(meta or {}) do
    if not k:match("^optim%.") and not k:match("^checkpoint%.") then user[k] = v end
  end
  return {step = step, meta = user, tensors = n}
end

return M
