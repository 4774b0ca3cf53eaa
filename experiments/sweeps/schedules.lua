-- Schedules x seeds for experiments/ot_path.lua: which Gaussian path trains
-- the best flow on the same budget?  Run from the repository root:
--   fmlua -m fm.sweep experiments/sweeps/schedules.lua            # local, nproc at a time
--   fmlua -m fm.sweep experiments/sweeps/schedules.lua --backend slurm
-- Results: runs/schedules/{summary,grouped}.{md,csv}, comparison.svg
return {
  experiment = "experiments/ot_path.lua",
  grid = { schedule = { "linear", "cosine", "vp" } },
  seeds = { 1, 2, 3 },
  fixed = { steps = 2000 },
  timeout = 900,
  metrics = { "w2", "mmd" },
}
