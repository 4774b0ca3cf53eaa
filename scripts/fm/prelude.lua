-- fm.prelude — run once when the fm module opens: attaches the parts of the
-- top-level API that are written in Lua. Everything else under fm.<name> is
-- loaded on first use from scripts/fm/<name>.lua.
local fm = require "fm"
local autograd = require "fm.autograd"

fm.grad = autograd.grad
fm.jvp = autograd.jvp
fm.gradcheck = autograd.gradcheck
-- checkpoints (scripts/fm/nn.lua): fm.save(path, net [, {optimizer=, metadata=}])
fm.save = function(...) return require("fm.nn").save(...) end
fm.load = function(...) return require("fm.nn").load(...) end

-- fm.data is the C table of samplers (bindings/data.c); its file loaders and
-- the batch iterator live in scripts/fm/dataset.lua, loaded on first use.
for _, name in ipairs{"from_npy", "from_csv", "batches"} do
  fm.data[name] = function(...) return require("fm.dataset")[name](...) end
end
-- image data sets (scripts/fm/images.lua, docs/images.md)
for _, name in ipairs{"fashion_mnist", "images", "quadrants"} do
  fm.data[name] = function(...) return require("fm.images")[name](...) end
end

--- fm.metrics.nll(x, dist): average negative log-likelihood (nats) of the
-- samples x under a distribution with an exact log_prob (a gmm, a marginal
-- at a fixed t via a wrapper, ...). docs/math.md section 10.
fm.metrics.nll = function(x, dist)
  if type(dist) ~= "table" and type(dist) ~= "userdata" or not dist.log_prob then
    error("metrics.nll: bad argument #2 (distribution with :log_prob expected)", 2)
  end
  return -dist:log_prob(x):mean():item()
end

-- fm.plot.term: plots in the terminal (scripts/fm/plot/term.lua,
-- docs/plots.md), loaded on first use.
setmetatable(fm.plot, {__index = function(plot, key)
  if key ~= "term" then return nil end
  local term = require "fm.plot.term"
  rawset(plot, key, term)
  return term
end})

-- path:flow_map(gmm): the exact flow map of the path's marginal field onto
-- a mixture (scripts/fm/flow_map.lua), a Lua method of the C path type.
debug.getregistry()["fm.Path"].__index.flow_map = function(path, gmm, opts)
  return require("fm.flow_map").new(path, gmm, opts)
end

-- a job of several ranks: fm.dist installs its rank-0-speaks rules now
-- (scripts/fm/dist.lua, docs/dist.md)
if fm._dist.size() > 1 then require "fm.dist" end

return fm
