--- fm.dist — data-parallel training over MPI (docs/dist.md).
--
--   mpirun -np 2 fmlua experiments/ot_path.lua      # or srun --ntasks 2 ...
--
-- Ranks count from 0, as in MPI. In a plain process (no launcher) there is
-- one rank, 0 of 1, and every collective leaves its tensors as they are, so
-- one script runs alike under `fmlua script.lua` and under mpirun.
--
--   fm.dist.available()            built with MPI?
--   fm.dist.init()                 -> rank, size (MPI is already initialised
--                                  when the fm module opens under a launcher)
--   fm.dist.rank(), size(), is_root(), barrier()
--   fm.dist.allreduce(x, op)       x a tensor or a list; op "sum" (default) |
--                                  "mean" | "max" | "min"; in place, one MPI
--                                  call per dtype; returns x
--   fm.dist.broadcast(x, root=0)   in place from root; returns x
--   fm.dist.gather(t [, root])     -> (size, ...) tensor of every rank's t, on
--                                  root only (nil elsewhere), or with no root
--                                  on every rank
--   fm.dist.broadcast_value(v, root=0)  root's Lua value (numbers, strings,
--                                  booleans, tables of them) on every rank
--   fm.dist.shard(x)               this rank's rows of a batch x (B/size each)
--   fm.dist.data_parallel(net, opt)     weights from rank 0, gradients averaged
--                                  before every opt:step() (done by default
--                                  for every optimiser made under a launcher)
--
-- With more than one rank (docs/dist.md, "What changes under a launcher"):
-- fm.seed(s) gives rank r stream r of s; fm.cli gives each rank batch / size
-- rows of --batch; optimisers and EMAs start from rank 0's weights and
-- optimisers average gradients before every step (after any JVP: the
-- average is taken on the .grad tensors, however they were computed);
-- fm.train.loop logs the loss averaged over the ranks; run directories,
-- checkpoints, progress bars and print() are rank 0's alone, and
-- fm.train.evaluate runs on rank 0 and hands its figures to the others.
-- An error on any rank, or os.exit with a failure code, ends the whole job.
local fm = require "fm"
local C = fm._dist
local M = {}

M.available = C.built
M.rank = C.rank
M.size = C.size
M.library = C.library
function M.is_root() return C.rank() == 0 end
--- active(): true with more than one rank.
function M.active() return C.size() > 1 end
function M.init()
  C.init()
  return C.rank(), C.size()
end
function M.barrier() C.barrier() end
M.allreduce = C.allreduce   -- (x [, op = "sum"]) -> x
M.broadcast = C.broadcast   -- (x [, root = 0]) -> x
function M.gather(t, root)
  if root ~= nil and math.type(root) ~= "integer" then
    error("fm.dist.gather: bad argument #2 (root rank, an integer, expected, got "
          .. tostring(root) .. ")", 2)
  end
  return C.gather(t, root)
end

local literal = require("fm.luadata").literal

function M.broadcast_value(v, root)
  root = root or 0
  if C.size() == 1 then return v end
  local text = C.broadcast_bytes(C.rank() == root and "return " .. literal(v) or nil, root)
  return assert(load(text, "=(fm.dist.broadcast_value)", "t", {}))()
end

--- shard(x): rows rank * B/size + 1 .. (rank + 1) * B/size of x (B = #x,
-- which must be a multiple of the number of ranks). With one rank, x.
function M.shard(x)
  local size = C.size()
  if size == 1 then return x end
  local b = x:size(1)
  if b % size ~= 0 then
    error(string.format("fm.dist.shard: %d rows do not split evenly over %d ranks", b, size), 2)
  end
  local per = b // size
  return x:narrow(1, C.rank() * per + 1, per)
end

-- ---- parameters and gradients ---------------------------------------------------
-- members[p]: p belongs to a data-parallel optimiser (its gradient is
-- averaged); synced[p]: p's current .grad is already the average (set by
-- clip_grad_norm's sync, cleared by zero_grad and by every step).
local members = setmetatable({}, {__mode = "k"})
local synced = setmetatable({}, {__mode = "k"})
local shared = setmetatable({}, {__mode = "k"})  -- weights already rank 0's

--- sync_params(params): rank 0's values into every rank's parameters (once
-- per parameter: afterwards the ranks update them identically).
function M.sync_params(params)
  if C.size() == 1 then return end
  local todo = {}
  for _, p in ipairs(params) do if not shared[p] then todo[#todo + 1] = p end end
  if #todo == 0 then return end
  C.broadcast(todo, 0)
  for _, p in ipairs(todo) do shared[p] = true end
end

--- sync_grads(params): average the .grad of the data-parallel parameters
-- among params over the ranks (one MPI call per dtype), unless done since
-- the last step.
function M.sync_grads(params)
  if C.size() == 1 then return end
  local todo = {}
  for _, p in ipairs(params) do
    if members[p] and not synced[p] then todo[#todo + 1] = p end
  end
  if #todo == 0 then return end
  C.allreduce_grads(todo, "mean")
  for _, p in ipairs(todo) do synced[p] = true end
end

--- _forget(params): their gradients are consumed (a step) or released
-- (fm.optim; internal).
function M._forget(params)
  for _, p in ipairs(params) do synced[p] = nil end
end

--- data_parallel(net, opt): broadcast net's weights from rank 0 and make
-- opt average gradients over the ranks before every step. Returns net, opt.
function M.data_parallel(net, opt)
  if not (opt and type(opt.params) == "table") then
    error("fm.dist.data_parallel: bad argument #2 (optimiser from fm.optim expected)", 2)
  end
  if net ~= nil then
    if type(net) ~= "table" or not net.parameters then
      error("fm.dist.data_parallel: bad argument #1 (module with :parameters() expected)", 2)
    end
    M.sync_params(net:parameters())
  end
  M._attach(opt)
  return net, opt
end

--- _attach(opt): what fm.optim does for every optimiser (unless dist = false;
-- internal).
function M._attach(opt)
  M.sync_params(opt.params)
  for _, p in ipairs(opt.params) do members[p] = true end
  opt.dist = true
end

--- _mean_number(v): the mean over the ranks of a number (fm.train; internal).
function M._mean_number(v)
  if C.size() == 1 then return v end
  return C.allreduce(fm.tensor({v}, "float64"), "mean"):item()
end

-- ---- rank 0 speaks --------------------------------------------------------------
-- Installed once, when the fm module opens in a job of more than one rank
-- (scripts/fm/prelude.lua).
if C.size() > 1 and not M.installed then
  M.installed = true
  if C.rank() > 0 and os.getenv("FM_DIST_PRINT") ~= "all" then
    print = function() end -- luacheck: ignore (rank 0 alone prints)
  end
  local exit = os.exit
  -- a failing rank ends the job: the others may be waiting in a collective
  os.exit = function(code, close)  -- luacheck: ignore
    if code ~= nil and code ~= true and code ~= 0 then
      io.stdout:flush()
      C.abort(code == false and 1 or math.tointeger(code) or 1)
    end
    return exit(code, close)
  end
end

return M
