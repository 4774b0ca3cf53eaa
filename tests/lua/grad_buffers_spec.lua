-- grad_buffers_spec.lua — zero_grad keeps unseen gradients as spare storage
-- for the next backward (bindings/grad_buffers.c): the numbers stay right,
-- the storage is really reused, and a gradient a script has seen is never
-- overwritten.
local fm = require "fm"
local A = fm._autograd

local function setup()
  fm.seed(3)
  local net = fm.nn.mlp{inputs = 3, hidden = {16, 16}, outputs = 2, act = "silu",
                        dtype = "float64"}
  local opt = fm.optim.sgd(net, {lr = 0.1})
  local function loss_of(seed)
    fm.seed(seed)
    local x = fm.randn({9, 3}, "float64")
    return (net(x) ^ 2):mean()
  end
  return net, opt, loss_of
end

-- the gradients of loss_of(seed) by fm.grad (fresh tensors, no reuse)
local function reference(net, loss_of, seed)
  return fm.grad(loss_of(seed), net:parameters())
end

describe("gradient buffers", function()
  it("are reused by the fused backward after zero_grad, with the right values", function()
    local net, opt, loss_of = setup()
    local ps = net:parameters()
    for step = 1, 4 do
      local want = reference(net, loss_of, 100 + step)
      opt:zero_grad()
      if step > 1 then
        for _, p in ipairs(ps) do assert.is_true(A.has_spare(p)) end
      end
      loss_of(100 + step):backward()
      for _, p in ipairs(ps) do assert.is_false(A.has_spare(p)) end -- taken
      -- compare without reading .grad (reading it would stop the reuse)
      local got = {}
      for i, p in ipairs(ps) do got[i] = fm._optim.grad_norm({p}) end
      for i, w in ipairs(want) do
        assert.is_true(math.abs(got[i] - w:norm():item()) <= 1e-12 * (1 + got[i]))
      end
      opt:step()
    end
  end)

  it("never overwrite a gradient a script has read", function()
    local net, opt, loss_of = setup()
    local p = net:parameters()[1]
    loss_of(1):backward()
    local kept = p.grad                     -- seen: not recyclable any more
    local copy = kept:clone()
    opt:zero_grad()
    assert.is_nil(p.grad)
    assert.is_false(A.has_spare(p))
    loss_of(2):backward()
    assert.tensor_near(copy, kept, 0)       -- untouched by the second backward
    assert.is_true((p.grad - kept):abs():max():item() > 0)
  end)

  it("never reuse a gradient assigned by hand", function()
    local net, opt, loss_of = setup()
    local p = net:parameters()[3]
    local mine = fm.ones_like(p)
    p.grad = mine
    opt:zero_grad()
    assert.is_false(A.has_spare(p))
    loss_of(5):backward()
    assert.tensor_near(fm.ones_like(p), mine, 0)
  end)

  it("give each leaf its own storage when a rule passes one gradient to several", function()
    local a = fm.param(fm.tensor({1, 2, 3}, "float64"))
    local b = fm.param(fm.tensor({4, 5, 6}, "float64"))
    ;(a + b):sum():backward()
    local ga, gb = a.grad, b.grad
    ga:mul_(10)                             -- in place, as clipping does
    assert.tensor_near(fm.ones_like(b), gb, 0)
  end)

  it("keep the caller's grad_output out of .grad", function()
    local p = fm.param(fm.tensor({1, 2}, "float64"))
    local go = fm.tensor({3, 4}, "float64")
    p:backward(go)
    p.grad:mul_(0)
    assert.tensor_near(fm.tensor({3, 4}, "float64"), go, 0)
  end)

  it("accumulate without zero_grad as before", function()
    local net, _, loss_of = setup()
    local ps = net:parameters()
    local w1 = reference(net, loss_of, 7)
    local w2 = reference(net, loss_of, 8)
    loss_of(7):backward()
    loss_of(8):backward()
    for i, p in ipairs(ps) do
      assert.tensor_near(w1[i] + w2[i], p.grad, 1e-12)
    end
  end)
end)
