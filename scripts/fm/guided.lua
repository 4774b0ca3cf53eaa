--- fm.guided(model, w, y) — classifier-free guidance as a field (docs/math.md §5):
--   u~(x, t) = (1 - w) model(x, t, nil) + w model(x, t, y).
-- The conditional model interface: model(x, t, y) -> tensor of x's shape,
-- where y is a label tensor (n,) (or whatever the model takes: a number for
-- one label for the whole batch) and nil means the null label (the
-- unconditional prediction, trained by dropping the label). w = 1 is the
-- conditional model, w = 0 the unconditional one, w > 1 guides harder.
-- The result is a field f(x, t) usable by fm.ode / fm.sample.
local function guided(model, w, y)
  assert(type(w) == "number", "fm.guided: w must be a number")
  return function(x, t)
    local uc = model(x, t, y)
    if w == 1 then return uc end
    local un = model(x, t, nil)
    return un * (1 - w) + uc * w
  end
end

return setmetatable({new = guided}, {__call = function(_, ...) return guided(...) end})
