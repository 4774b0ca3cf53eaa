/* optim.h — fused in-place optimiser updates over (param, grad, state).
 *
 * Each update is one pass over contiguous tensors of the same shape and
 * dtype (float32 or float64; the state tensors share the param's dtype).
 * The formulas are PyTorch's (torch.optim, single-tensor path), so runs can be
 * compared step for step. Arithmetic per element is done in the tensor's
 * dtype; scalars (lr, bias corrections) are computed in double.
 */
#ifndef FM_OPTIM_H
#define FM_OPTIM_H

#include "core/fm.h"

typedef struct {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} fm_sgd_opts;

/* g' = g + wd p; with momentum: buf = g' on the first step (first = true),
 * else buf = momentum buf + (1 - dampening) g'; g' = nesterov ? g' +
 * momentum buf : buf; p -= lr g'. buf may be NULL when momentum == 0. */
fm_status fm_optim_sgd(fm_tensor *param, const fm_tensor *grad,
                       fm_tensor *buf, const fm_sgd_opts *o, bool first);

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled;  /* true: AdamW (p *= 1 - lr wd), false: Adam (g += wd p) */
} fm_adam_opts;

/* step counts from 1. m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
 * p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). */
fm_status fm_optim_adam(fm_tensor *param, const fm_tensor *grad, fm_tensor *m,
                        fm_tensor *v, const fm_adam_opts *o, int64_t step);

/* Global L2 norm of n gradient tensors (accumulated in double). */
fm_status fm_optim_grad_norm(const fm_tensor *grads, int n, double *norm);
/* The clip factor of torch.nn.utils.clip_grad_norm_:
 * min(1, max_norm / (norm + 1e-6)). */
double fm_optim_clip_coef(double norm, double max_norm);
/* t *= s in place, for each of n tensors. */
fm_status fm_optim_scale(fm_tensor *ts, int n, double s);
/* avg = decay avg + (1 - decay) param (exponential moving average). */
fm_status fm_optim_ema(fm_tensor *avg, const fm_tensor *param, double decay);

#endif
