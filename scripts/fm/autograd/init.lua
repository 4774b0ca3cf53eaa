-- fm.autograd — automatic differentiation, in one home:
--   init.lua      the graph and its traversal: backward, fm.grad, fm.jvp,
--                 fm.gradcheck (this file)
--   rules.lua     every reverse-mode rule (one of them, "layer", calls the
--                 C backward of a layer kind)
--   jvp.lua       every forward-mode rule (true forward mode)
--   composed.lua  each layer kind written with differentiable ops, for
--                 higher-order derivatives through layers
-- The C bindings record the graph (bindings/core/autograd.c): each tensor
-- made by a differentiable op from tensors that require grad holds a node
--   { op = "mul", [1] = a, [2] = b, saved = {...} }.
local fm = require "fm"
local args = require "fm.args"
local A = fm._autograd
local is_tensor = fm.is_tensor

local M = {}
local rules = require "fm.autograd.rules"
local fwd = require "fm.autograd.jvp"
M.rules = rules
M.forward_rules = fwd

-- ---- the traversal -------------------------------------------------------------

-- Tensors reachable from roots through nodes, inputs before outputs
-- (iterative depth-first search; `stack` holds tensors, `expanded` marks
-- those whose inputs are already pushed).
local function toposort(roots)
  local order, visited, expanded, stack, n = {}, {}, {}, {}, 0
  for i = #roots, 1, -1 do n = n + 1; stack[n] = roots[i] end
  while n > 0 do
    local t = stack[n]
    if expanded[t] then
      stack[n] = nil; n = n - 1
      if not visited[t] then
        visited[t] = true
        order[#order + 1] = t
      end
    elseif visited[t] then
      stack[n] = nil; n = n - 1
    else
      expanded[t] = true
      local node = A.node(t)
      if node then
        for i = #node, 1, -1 do
          local x = node[i]
          if not visited[x] and is_tensor(x) and x.requires_grad then
            n = n + 1; stack[n] = x
          end
        end
      end
    end
  end
  return order
end

local released = { op = "released", saved = {} }

local function accumulate(grads, t, g)
  local old = grads[t]
  grads[t] = old and old + g or g
end

-- Tensor memory a backward pass releases before it asks the collector for
-- a full cycle (see propagate).
M.collect_bytes = 16 * 1024 * 1024

-- Propagates grad_outputs back from outputs. Returns the table of gradients
-- and the topological order. Without retain_graph, each processed tensor
-- leaves the order and its gradient is dropped (unless `keep` names it:
-- fm.grad's inputs), so activations and gradients become garbage as the
-- pass goes down the graph, as in PyTorch; once a pass has released
-- M.collect_bytes of tensors, a full collection runs (the activations of
-- an image network have lived through the forward pass into the
-- collector's old generation, which a minor collection does not free).
local function propagate(outputs, grad_outputs, opts, keep)
  local grads = {}
  for i, out in ipairs(outputs) do accumulate(grads, out, grad_outputs[i]) end
  local order = toposort(outputs)
  local release = not opts.retain_graph and not opts.create_graph
  local function run()
    local freed = 0
    for k = #order, 1, -1 do
      local t = order[k]
      local node = A.node(t)
      local g = grads[t]
      if node and g then
        local rule = rules[node.op]
        if not rule then error("backward: no rule for op '" .. node.op .. "'", 0) end
        local gi = table.pack(rule(node, g, t))
        for i = 1, #node do
          local x = node[i]
          if gi[i] ~= nil and fm.is_tensor(x) and x.requires_grad then
            accumulate(grads, x, gi[i])
          end
        end
        if release then
          A.set_node(t, released)
          if not (keep and keep[t]) then
            grads[t] = nil
            order[k] = false
            freed = freed + t:numel() * (t:dtype() == "float32" and 4 or 8)
            if freed >= M.collect_bytes then
              freed = 0
              gi, g = nil, nil
              collectgarbage("collect")
            end
          end
        end
      end
    end
  end
  if opts.create_graph then fm.enable_grad(run) else fm.no_grad(run) end
  return grads, order
end

local function as_list(x)
  if fm.is_tensor(x) then return {x} end
  return x
end

local function default_grad(out, what)
  if out:numel() ~= 1 then
    error(what .. ": grad can be implied only for a single-element output, got shape (" ..
          table.concat(out:shape(), ", ") .. "); pass grad_outputs", 0)
  end
  return fm.ones_like(out)
end

--- x:backward([grad [, {retain_graph=, create_graph=}]]): accumulates d(x)/d(leaf)
-- into leaf.grad for every leaf that requires grad.
function M.backward(root, grad, opts)
  opts = opts or {}
  if not root.requires_grad then
    error("backward: tensor does not require grad (no parameter reached it)", 0)
  end
  grad = grad or default_grad(root, "backward")
  local grads, order = propagate({root}, {grad}, opts)
  -- tensors a leaf must not take as its own .grad: the root, the caller's
  -- grad and gradients already given to another leaf (a rule may pass one
  -- tensor to several inputs); such a gradient is copied.
  local shared = {[root] = true, [grad] = true}
  for k = 1, #order do
    local t = order[k]
    local g = t and grads[t]
    if g and A.node(t) == nil and t.requires_grad then
      local old = t.grad
      if opts.create_graph then
        if old then
          t.grad = old + g
        else
          t.grad = (g:is_contiguous() and g ~= root) and g or g:clone()
        end
      else
        if old then
          g = old:detach() + g:detach()
        elseif shared[g] or g.requires_grad or not g:is_contiguous() then
          g = g:detach():clone()
        end
        shared[g] = true
        -- a fresh tensor: zero_grad may hand its storage to the next backward
        A.install_grad(t, g)
      end
    end
  end
end

--- fm.grad(outputs, inputs [, {grad_outputs=, create_graph=, retain_graph=}])
-- returns the list of gradients of sum(outputs * grad_outputs) with respect to
-- each input, without touching .grad. Inputs the outputs do not depend on get
-- zeros.
function M.grad(outputs, inputs, opts)
  opts = args.opts("fm.grad", 3, opts)
  local single = fm.is_tensor(inputs)
  outputs, inputs = as_list(outputs), as_list(inputs)
  local gos = opts.grad_outputs and as_list(opts.grad_outputs) or {}
  for i, out in ipairs(outputs) do
    if not out.requires_grad then
      error("grad: output " .. i .. " does not require grad", 0)
    end
    gos[i] = gos[i] or default_grad(out, "grad")
  end
  local keep = {}
  for _, x in ipairs(inputs) do keep[x] = true end
  local grads = propagate(outputs, gos, opts, keep)
  local result = {}
  for i, x in ipairs(inputs) do
    local g = grads[x]
    if g == nil then g = fm.zeros_like(x)
    elseif not opts.create_graph then g = g:detach() end
    result[i] = g
  end
  if single then return result[1] end
  return result
end

-- ---- forward mode ---------------------------------------------------------------

local function tangent_of(x)
  if not is_tensor(x) then return nil end
  return A.tangent(x)
end

--- The forward rule of one op, run by the recording hook while an fm.jvp
-- runs (bindings/core/autograd.c): the output's tangent, or nil for zero.
-- Tangent propagation is suspended inside (a rule's own ops are plain
-- values); grad mode is on only under create_graph.
function M.forward_rule(node, out)
  local rule = fwd[node.op]
  if not rule then error("fm.jvp: no forward rule for op '" .. node.op .. "'", 0) end
  local was = A.fwd_suspend()
  local ok, t = pcall(function()
    if A.fwd_graph() then return fm.enable_grad(rule, node, out, tangent_of) end
    return fm.no_grad(rule, node, out, tangent_of)
  end)
  A.fwd_resume(was)
  if not ok then error(t, 0) end
  if t ~= nil and not t:is_contiguous() then
    t = A.fwd_graph() and t:contiguous() or fm.no_grad(t.contiguous, t)
  end
  return t
end

local function check_tangent(x, t, what)
  if not is_tensor(t) then
    error(string.format("fm.jvp: %s is %s, a tensor expected", what, type(t)), 3)
  end
  local xs, ts = x:shape(), t:shape()
  local same = #xs == #ts and x:dtype() == t:dtype()
  for i = 1, #xs do same = same and xs[i] == ts[i] end
  if not same then
    error(string.format("fm.jvp: %s has shape (%s) %s, its input (%s) %s", what,
      table.concat(ts, ", "), t:dtype(), table.concat(xs, ", "), x:dtype()), 3)
  end
  if not t:is_contiguous() then t = t:contiguous() end
  return t:detach()
end

--- fm.jvp(fn, inputs, tangents [, opts]) -> outputs, output tangents: the
-- forward-mode product J u of fn at inputs, by true forward mode: every op
-- fn runs computes its output's tangent beside its value (jvp.lua; a layer
-- runs its C tangent forward). opts:
--   create_graph = true   the tangents are recorded for reverse mode, so a
--                         loss of them can be differentiated (TVM)
--   params = {p, ...}, param_tangents = {v, ...}   tangents of tensors fn
--                         uses without taking them as inputs (a module's
--                         parameters: net:parameters())
-- The outputs keep their graph (they are fn's own values: a loss of them
-- can be differentiated); without create_graph the tangents are detached.
function M.jvp(fn, inputs, tangents, opts)
  args.check("fm.jvp", 1, "fn", fn, "callable")
  opts = args.opts("fm.jvp", 4, opts)
  inputs = as_list(inputs)
  tangents = tangents == nil and {} or as_list(tangents)
  local params, ptans = opts.params or {}, opts.param_tangents or {}
  if #ptans ~= #params then
    error("fm.jvp: " .. #params .. " params but " .. #ptans .. " param_tangents", 2)
  end
  for i, x in ipairs(inputs) do
    if not is_tensor(x) then error("fm.jvp: input " .. i .. " is not a tensor", 2) end
    if tangents[i] ~= nil then tangents[i] = check_tangent(x, tangents[i], "tangent " .. i) end
  end
  for i, p in ipairs(params) do ptans[i] = check_tangent(p, ptans[i], "param_tangents[" .. i .. "]") end
  A.fwd_begin(opts.create_graph and true or false)
  local ok, out, jv = pcall(function()
    local xs = {}
    for i, x in ipairs(inputs) do
      xs[i] = A.alias(x)
      if tangents[i] ~= nil then A.set_tangent(xs[i], tangents[i]) end
    end
    for i, p in ipairs(params) do A.set_tangent(p, ptans[i]) end
    local res = fn(table.unpack(xs, 1, #inputs))
    local outs = as_list(res)
    local tv = {}
    for i, o in ipairs(outs) do
      if not is_tensor(o) then error("fm.jvp: the function returned a " .. type(o), 0) end
      local t = A.tangent(o)
      if t == nil then t = fm.zeros_like(o:detach())
      elseif not opts.create_graph then t = t:detach() end
      tv[i] = t
      A.set_tangent(o, nil)
    end
    if is_tensor(res) then return outs[1], tv[1] end
    return outs, tv
  end)
  for _, p in ipairs(params) do A.set_tangent(p, nil) end
  A.fwd_end()
  if not ok then error(out, 2) end
  return out, jv
end

--- fm.gradcheck(fn, inputs [, {eps=1e-6, atol=1e-5, rtol=1e-3}]) compares the
-- gradients of sum(fn(inputs) * w) (w fixed random weights) with central
-- finite differences, input by input, element by element. Inputs should be
-- float64. Returns true, or false and a message naming the worst element.
function M.gradcheck(fn, inputs, opts)
  args.check("fm.gradcheck", 1, "fn", fn, "callable")
  opts = args.opts("fm.gradcheck", 3, opts)
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  inputs = as_list(inputs)
  for i, x in ipairs(inputs) do
    if x:dtype() ~= "float64" then
      return false, "gradcheck: input " .. i .. " is " .. x:dtype() .. ", float64 expected"
    end
  end
  local xs = {}
  for i, x in ipairs(inputs) do xs[i] = x:clone():requires_grad_() end
  local out0 = fm.enable_grad(function() return fn(table.unpack(xs)) end)
  local w = fm.rand(out0:shape(), "float64") + 0.5
  -- grad mode stays on: fn may itself take gradients (e.g. checking a
  -- second derivative through fm.grad with create_graph)
  local function scalar(...)
    return fm.enable_grad(function(...) return (fn(...) * w):sum():item() end, ...)
  end
  local analytic = M.grad({(out0 * w):sum()}, xs)
  for i, x in ipairs(xs) do
    local flat = x:detach():view(-1)
    local ga = analytic[i]:reshape(-1)
    for k = 1, flat:numel() do
      local old = flat[k]
      flat[k] = old + eps
      local fp = scalar(table.unpack(xs))
      flat[k] = old - eps
      local fmn = scalar(table.unpack(xs))
      flat[k] = old
      local numeric = (fp - fmn) / (2 * eps)
      local a = ga[k]
      if math.abs(a - numeric) > atol + rtol * math.abs(numeric) then
        return false, string.format("gradcheck: input %d element %d: analytic %.10g, " ..
          "finite difference %.10g", i, k, a, numeric)
      end
    end
  end
  return true
end

return M
