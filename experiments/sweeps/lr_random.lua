-- Random search over the learning rate and width for ot_path.lua (log-uniform
-- draws, reproducible from random.seed), two seeds per draw.
--   fmlua -m fm.sweep experiments/sweeps/lr_random.lua --jobs 2
return {
  experiment = "experiments/ot_path.lua",
  grid = { schedule = { "linear" } },
  random = { n = 6, seed = 1, lr = { log_uniform = { 1e-4, 1e-2 } }, hidden = { 64, 128, 256 } },
  seeds = 2,
  fixed = { steps = 1000 },
  timeout = 900,
  metrics = { "w2", "mmd" },
}
