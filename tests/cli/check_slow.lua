-- check_slow.lua NAME DIR: the claims of experiment NAME at its default size,
-- read from every line of DIR/metrics.jsonl; exits non-zero and prints each
-- failed claim. The margins sit between what a working run measures (given
-- in each comment, seed 1) and what a broken one does, so run-to-run noise
-- of the finite-sample distances (the W2 floor varies ~20% between draws)
-- does not decide the outcome.
local json = require "fm.sweep.json"
local name, dir = assert(arg[1]), assert(arg[2])
local lines = {}
for l in io.lines(dir .. "/metrics.jsonl") do lines[#lines + 1] = json.decode(l) end
local bad = 0
local function claim(ok, what, ...)
  if not ok then bad = bad + 1; print("  claim failed: " .. string.format(what, ...)) end
end
-- the metric lines that have key (the loss lines do not)
local function rows(key)
  local out = {}
  for _, o in ipairs(lines) do if o[key] ~= nil then out[#out + 1] = o end end
  return out
end

if name == "schedules" then
  -- measured W2 / floor: 1.15-1.35 for every schedule; a wrong path
  -- derivative or an untrained net lands above 3 (200 steps: 1.5-3.2)
  local r = rows("schedule")
  claim(#r == 5, "5 schedules, got %d", #r)
  for _, o in ipairs(r) do
    claim(o.w2_ratio < 2, "%s: W2 / floor %.3f < 2", o.schedule, o.w2_ratio)
  end
  claim(r[1].w2_ratio < 1.6, "linear: W2 / floor %.3f < 1.6", r[1].w2_ratio)
elseif name == "score_sde" then
  -- measured W2 / floor: sigma 0 1.22, 0.5 0.94, 1 0.92, 2 1.19; the
  -- extension trick keeps the marginals, so every sigma stays near the floor
  local r = rows("sigma")
  claim(#r == 4, "4 sigmas, got %d", #r)
  for _, o in ipairs(r) do
    claim(o.w2_ratio < 1.6, "sigma %g: W2 / floor %.3f < 1.6", o.sigma, o.w2_ratio)
  end
elseif name == "ot_cfm" then
  -- measured straightness: independent 1.29 / 1.42, OT 1.002 / 1.005; W2
  -- with 2 Euler steps: independent 1.96 / 1.97, OT 0.36 / 0.55 (floor 0.28 / 0.63)
  local r = rows("coupling")
  claim(#r == 4, "2 tasks x 2 couplings, got %d", #r)
  for i = 1, #r, 2 do
    local ind, ot = r[i], r[i + 1]
    claim(ot.straightness < 1.03, "%s: OT straightness %.4f < 1.03", ot.task, ot.straightness)
    claim(ind.straightness > 1.1, "%s: independent straightness %.4f > 1.1", ind.task,
          ind.straightness)
    claim(ot.w2_few < 1.5 * ot.w2_floor, "%s: OT few-step W2 %.3f < 1.5 x floor %.3f", ot.task,
          ot.w2_few, ot.w2_floor)
    claim(ind.w2_few > 2 * ot.w2_few, "%s: independent few-step W2 %.3f > 2 x OT's %.3f",
          ind.task, ind.w2_few, ot.w2_few)
    claim(ot.w2_ratio < 1.5, "%s: OT W2 / floor %.3f < 1.5", ot.task, ot.w2_ratio)
  end
elseif name == "guidance" then
  -- measured: right 33.5% / 97.5% / 100% / 100% at w = 0, 1, 2, 4, data
  -- 97.0%; class W2 2.32 / 0.21 / 0.80 / 1.25, floor 0.20. w = 0 ignores the
  -- label (1/3 of 3 classes; sd of the fraction at n = 1500 is 0.012)
  local r, d = rows("w"), rows("right_data")[1]
  claim(#r == 4 and d ~= nil, "4 guidance weights and the data line")
  claim(math.abs(r[1].right - 1 / 3) < 0.08, "w = 0: right %.3f within 0.08 of 1/3", r[1].right)
  claim(math.abs(r[2].right - d.right_data) < 0.03, "w = 1: right %.3f within 0.03 of the "
        .. "data's %.3f", r[2].right, d.right_data)
  claim(r[4].right >= r[2].right, "w = 4 purer than w = 1 (%.3f >= %.3f)", r[4].right, r[2].right)
  claim(r[2].w2_class < 1.5 * d.w2_class_floor, "w = 1: class W2 %.3f < 1.5 x floor %.3f",
        r[2].w2_class, d.w2_class_floor)
  claim(r[4].w2_class > r[2].w2_class, "w = 4 distorts the class: W2 %.3f > %.3f",
        r[4].w2_class, r[2].w2_class)
elseif name == "likelihood" then
  -- measured gap (model NLL - exact NLL, nats) 0.085-0.11: the cross-entropy
  -- is at least the entropy in expectation, so a gap below -0.05 (beyond the
  -- noise of 1000 held-out points) means a wrong sign or scale in the
  -- likelihood; above 0.3 a badly trained flow
  local o = rows("nll_gap")[1]
  claim(o ~= nil, "an NLL line")
  claim(o.nll_gap > -0.05 and o.nll_gap < 0.3, "NLL gap %.4f in (-0.05, 0.3)", o.nll_gap)
  claim(o.grid_abs_err < 1, "mean |log p diff| where p matters %.3f < 1", o.grid_abs_err)
else
  claim(false, "unknown experiment %s", name)
end
os.exit(bad == 0 and 0 or 1)
