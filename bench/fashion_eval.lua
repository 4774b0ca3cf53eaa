-- bench/fashion_eval.lua DIR [DIR ...] [--classifier PATH] — scores the
-- samples.npy (uint8 (n, 28, 28)) and labels.npy (classes 1..10) of each run
-- directory on fmlua's image metric (scripts/fm/image_metrics.lua): the
-- Fréchet distance on the classifier's features against the 10k test images
-- beside its floor (n real train images against the same test set; the ratio
-- is FD / floor) and the 10k-train-vs-10k-test distance, the classifier's accuracy on the asked labels, the predicted
-- class counts. Used to put fmlua's run and the PyTorch peer's
-- (bench/fashion_peer.py) in one table.
local fm = require "fm"
local im = require "fm.image_metrics"

local dirs, clf_path = {}, "runs/fashion_classifier/classifier.safetensors"
local i = 1
while i <= #arg do
  if arg[i] == "--classifier" then clf_path = arg[i + 1]; i = i + 2
  else dirs[#dirs + 1] = arg[i]; i = i + 1 end
end
assert(#dirs > 0, "usage: fmlua bench/fashion_eval.lua DIR [DIR ...] [--classifier PATH]")
local clf = im.load_classifier(clf_path)
print(("%-28s %6s %9s %9s %9s %7s %9s"):format("run", "n", "FD", "floor", "floor_10k",
                                              "ratio", "accuracy"))
for _, d in ipairs(dirs) do
  local x = fm.load_npy(d .. "/samples.npy")
  local y = fm.load_npy(d .. "/labels.npy"):to("int64")
  local m = im.evaluate(x, y, {classifier = clf})
  print(("%-28s %6d %9.3f %9.3f %9.3f %7.2f %9.3f"):format(d, y:numel(), m.fd, m.fd_floor_ref,
        m.fd_floor_10k, m.fd / m.fd_floor_ref, m.accuracy))
end
