-- fm.nn.module — the base class of every network: a module is a Lua table
-- whose metatable is its class. Assigning a tensor that requires grad
-- (fm.param) or another module to a new field registers it, in assignment
-- order, so that `net:parameters()` names it ("layers.1.weight").
local fm = require "fm"

local nn = {}

local Module = {}
Module.__index = Module
Module.__name = "Module"
nn.Module = Module

local function is_module(v)
  return type(v) == "table" and getmetatable(v) ~= nil and rawget(v, "_pkeys") ~= nil
end
nn.is_module = is_module

-- registration on first assignment of a field
local function register(self, k, v)
  if fm.is_tensor(v) and v.requires_grad then
    local ks = rawget(self, "_pkeys"); ks[#ks + 1] = k
  elseif is_module(v) then
    local ks = rawget(self, "_ckeys"); ks[#ks + 1] = k
  end
  rawset(self, k, v)
end

local function call(self, ...) return self:forward(...) end

-- The torch-like printout: Name(extra) or Name(\n  (child): ...\n).
local function repr(self, indent)
  local head = self.__name .. "(" .. (self:extra_repr() or "")
  local ks = rawget(self, "_ckeys")
  if #ks == 0 then return head .. ")" end
  local pad = indent .. "  "
  local lines = {head}
  for _, k in ipairs(ks) do
    local child = self[k]
    if child ~= nil then
      lines[#lines + 1] = pad .. "(" .. tostring(k) .. "): " .. repr(child, pad)
    end
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

local function tostr(self) return repr(self, "") end

--- nn.class(name [, parent]) -> a class; `Class(...)` makes an instance,
-- calling Class.init(self, ...) (define init and forward on the class).
function nn.class(name, parent)
  parent = parent or Module
  local cls = {__name = name, __call = call, __tostring = tostr,
               __newindex = register}
  cls.__index = cls
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local self = setmetatable({_pkeys = {}, _ckeys = {}, training = true}, c)
      if c.init then c.init(self, ...) end
      return self
    end,
    __tostring = function() return "class " .. name end,
  })
end

--- nn.module{forward = function(self, x) ... end, field = module or param, ...}
-- -> an instance built from a table (fields registered in sorted-name order);
-- name = "..." sets the name in the printout.
function nn.module(spec)
  assert(type(spec) == "table" and type(spec.forward) == "function",
         "fm.nn.module: a table with a forward function expected")
  local cls = nn.class(spec.name or "Module")
  cls.forward = spec.forward
  local self = cls()
  local keys = {}
  for k in pairs(spec) do
    if k ~= "forward" and k ~= "name" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do self[k] = spec[k] end
  return self
end

function Module:forward()
  error(self.__name .. ": forward is not defined", 2)
end
function Module:extra_repr() return nil end

--- self:param(name, tensor) registers tensor (made a parameter) as self[name].
function Module:param(name, t)
  if not t.requires_grad then fm.param(t) end
  self[name] = t
  return t
end

--- named_parameters() -> list of {name, tensor}, in registration order.
function Module:named_parameters(prefix, out)
  out = out or {}
  prefix = prefix or ""
  for _, k in ipairs(rawget(self, "_pkeys")) do
    local p = self[k]
    if fm.is_tensor(p) then out[#out + 1] = {prefix .. tostring(k), p} end
  end
  for _, k in ipairs(rawget(self, "_ckeys")) do
    local c = self[k]
    if is_module(c) then c:named_parameters(prefix .. tostring(k) .. ".", out) end
  end
  return out
end

--- parameters() -> list of tensors, each with .name set to its full name.
function Module:parameters()
  local list = {}
  for i, kv in ipairs(self:named_parameters()) do
    kv[2].name = kv[1]
    list[i] = kv[2]
  end
  return list
end

--- state_dict() -> {name = tensor} (the tensors themselves, not copies).
function Module:state_dict()
  local d = {}
  for _, kv in ipairs(self:named_parameters()) do d[kv[1]] = kv[2] end
  return d
end

function Module:children()
  local list = {}
  for _, k in ipairs(rawget(self, "_ckeys")) do list[#list + 1] = self[k] end
  return list
end

function Module:num_parameters()
  local n = 0
  for _, kv in ipairs(self:named_parameters()) do n = n + kv[2]:numel() end
  return n
end

function Module:train(on)
  if on == nil then on = true end
  rawset(self, "training", on)
  for _, c in ipairs(self:children()) do c:train(on) end
  return self
end
function Module:eval() return self:train(false) end

--- net:zero_grad(): .grad = nil for every parameter (see Optimizer:zero_grad).
function Module:zero_grad()
  fm._autograd.release_grads(self:parameters())
end

--- net:load(path): fm.load(path, net).
function Module:load(path) return nn.load(path, self) end
function Module:save(path, opts) return nn.save(path, self, opts) end
--- net:fused(): the C handle of a fused network (fm.nn.mlp), else nil.
function Module:fused() return nil end

-- ---- containers ---------------------------------------------------------

local Sequential = nn.class("Sequential")
nn.Sequential = Sequential
function Sequential:init(...)
  local mods = {...}
  if #mods == 1 and not is_module(mods[1]) and type(mods[1]) == "table" then
    mods = mods[1]
  end
  for i, m in ipairs(mods) do
    assert(is_module(m), "fm.nn.Sequential: argument " .. i .. " is not a module")
    self[i] = m
  end
end
function Sequential:forward(x)
  for _, k in ipairs(rawget(self, "_ckeys")) do x = self[k](x) end
  return x
end
function Sequential:add(m)
  self[#rawget(self, "_ckeys") + 1] = m
  return self
end
function Sequential:__len() return #rawget(self, "_ckeys") end

return nn
