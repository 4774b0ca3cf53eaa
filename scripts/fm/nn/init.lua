-- fm.nn — networks (docs/nn.md). The package:
--   module.lua        the Module base class (named parameters, train/eval,
--                     printing), nn.class, nn.module, Sequential
--   layers.lua        the layers, each a Lua class over one C layer kind
--                     (engine/nn/layer.h): Linear, Conv2d, GroupNorm,
--                     LayerNorm, Upsample, AvgPool2d, Attention, Embedding,
--                     the activations, TimeEmbedding, ResBlock
--   mlp.lua           the MLP (the fused C kind), fm.nn.mlp{...}
--   unet.lua          the U-Net, fm.nn.unet{...}
--   initializers.lua  torch.nn.init's formulas
-- and here: checkpoints, fm.save / fm.load.
local fm = require "fm"

local nn = require "fm.nn.module"
local is_module = nn.is_module

nn.init = require "fm.nn.initializers"
require("fm.nn.layers")(nn)
require("fm.nn.mlp")(nn)
require("fm.nn.unet")(nn)

-- ---- checkpoints (fm.save / fm.load) -------------------------------------

local function tensors_of(obj)
  if is_module(obj) then return obj:state_dict() end
  assert(type(obj) == "table", "fm.save: a module or a table of tensors expected")
  return obj
end

local HALF = {f16 = true, float16 = true, bf16 = true, bfloat16 = true}

--- fm.save(path, module_or_tensors [, {optimizer =, metadata =, dtype =}]):
-- one safetensors file (atomic), parameters under their names, optimiser
-- state under "optim.<name>.<state>". dtype = "bf16" or "f16" stores the
-- float32 parameters as 16-bit floats (the optimiser state stays float32).
function nn.save(path, obj, opts)
  opts = opts or {}
  local out, stored = {}, {}
  if opts.dtype ~= nil and not HALF[opts.dtype] then
    error(("fm.save: dtype must be \"bf16\" or \"f16\" (or \"bfloat16\", \"float16\"), got %s")
      :format(tostring(opts.dtype)), 2)
  end
  for k, t in pairs(tensors_of(obj)) do
    out[k] = t
    if opts.dtype and t:dtype() == "float32" then stored[k] = opts.dtype end
  end
  local meta = {}
  for k, v in pairs(opts.metadata or {}) do meta[k] = tostring(v) end
  if opts.optimizer then
    local st, m = opts.optimizer:state_tensors()
    for k, t in pairs(st) do out[k] = t end
    for k, v in pairs(m) do meta[k] = v end
  end
  fm.safetensors.save(path, out, next(meta) and meta or nil, {dtype = stored})
end

--- fm.load(path, module_or_tensors) -> metadata. Checks every name, dtype and
-- shape first (raising "fm.load: <path>: <problem>"), then copies: on error the
-- targets are untouched. Tensors named "optim.*" in the file are ignored.
function nn.load(path, obj)
  local targets = tensors_of(obj)
  local ok, info = pcall(fm.safetensors.info, path)
  if not ok then error("fm.load: " .. path .. ": " .. tostring(info), 2) end
  -- first problem in parameter order (deterministic messages)
  local order = {}
  if is_module(obj) then
    for i, kv in ipairs(obj:named_parameters()) do order[i] = kv[1] end
  else
    for k in pairs(targets) do order[#order + 1] = k end
    table.sort(order)
  end
  for _, name in ipairs(order) do
    local e, t = info[name], targets[name]
    if not e then
      error(string.format("fm.load: %s: missing tensor '%s'", path, name), 2)
    end
    local want = table.concat(t:shape(), ", ")
    local got = table.concat(e.shape, ", ")
    if e.dtype ~= t:dtype() or want ~= got then
      error(string.format("fm.load: %s: tensor '%s' is %s (%s) in the file, the " ..
            "module has %s (%s)", path, name, e.dtype, got, t:dtype(), want), 2)
    end
  end
  for name in pairs(info) do
    if targets[name] == nil and not name:match("^optim%.") then
      error(string.format("fm.load: %s: unexpected tensor '%s' (a file for a " ..
            "different architecture?)", path, name), 2)
    end
  end
  local ok2, n, meta = pcall(fm.safetensors.load_into, path, targets, false)
  if not ok2 then error("fm.load: " .. tostring(n), 2) end
  return meta
end

return nn
