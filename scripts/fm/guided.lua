--- fm.guided(model, w, y [, {null = label}]) — classifier-free guidance as a
-- field (docs/math.md §5):
--   u~(x, t) = (1 - w) model(x, t, nil) + w model(x, t, y).
-- The conditional model interface: model(x, t, y) -> tensor of x's shape,
-- where y is a label tensor (n,) (or whatever the model takes: a number for
-- one label for the whole batch) and nil means the null label (the
-- unconditional prediction, trained by dropping the label). w = 1 is the
-- conditional model, w = 0 the unconditional one, w > 1 guides harder.
-- With opts.null (the null label's number, y a tensor), both predictions
-- come from ONE call on the batch stacked twice, model(cat(x, x), t,
-- cat(y, null)): one network pass of 2n rows instead of two of n (images).
-- The result is a field f(x, t) usable by fm.ode / fm.sample, on points or
-- images alike.
local fm = require "fm"
local args = require "fm.args"

local function guided(model, w, y, opts)
  args.check("fm.guided", 1, "model", model, "callable")
  args.check("fm.guided", 2, "w", w, "number")
  args.check("fm.guided", 3, "y", y, "tensor|table|number?")
  opts = args.opts("fm.guided", 4, opts)
  local null = opts and opts.null
  if null ~= nil then
    assert(fm.is_tensor(y), "fm.guided: {null =} needs the labels y as a tensor")
  end
  return function(x, t)
    if w == 1 then return model(x, t, y) end
    if null == nil then
      local uc = model(x, t, y)
      local un = model(x, t, nil)
      return un * (1 - w) + uc * w
    end
    local n = x:size(1)
    local nulls = fm.full({n}, null, y:dtype())
    if w == 0 then return model(x, t, nulls) end
    local both = model(fm.cat({x, x}, 1), t, fm.cat({y, nulls}, 1))
    return both:narrow(1, n + 1, n) * (1 - w) + both:narrow(1, 1, n) * w
  end
end

return setmetatable({new = guided}, {__call = function(_, ...) return guided(...) end})
