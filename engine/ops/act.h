/* act.h — the activation functions: one enum and one kernel set, used by
 * the elementwise tensor ops (x:silu(), x:silu_grad(), ...), the fused MLP
 * and every layer kind (nn/layer.h). float32 uses the vectorisable exp,
 * sigmoid and tanh of ops/vmath.h; float64 uses libm (gradchecks).
 *
 *   silu(v) = v s(v), silu' = s (1 + v (1 - s)), s = sigmoid
 *   gelu(v) = v s(2u), u = c (v + a v^3), c = sqrt(2/pi), a = 0.044715
 *             (the tanh form, torch's approximate="tanh")
 *   relu, tanh, sigmoid as usual; relu'(0) = 0.
 */
#ifndef FM_OPS_ACT_H
#define FM_OPS_ACT_H

#include "core/fm.h"

typedef enum {
    FM_ACT_NONE = 0, FM_ACT_SILU, FM_ACT_RELU, FM_ACT_TANH,
    FM_ACT_GELU, FM_ACT_SIGMOID,
    FM_ACT_COUNT
} fm_act;

/* "none" "silu" "relu" "tanh" "gelu" "sigmoid" <-> fm_act. */
fm_status fm_act_parse(const char *name, fm_act *out);
const char *fm_act_name(fm_act act);

/* z (rows, n), contiguous: z <- act(z + b) in place, and d <- act'(z + b)
 * when d is not NULL; b (n) may be NULL (zero). */
void fm_act_rows(fm_dtype dt, fm_act act, int64_t rows, int64_t n, void *z,
                 const void *b, void *d);
/* n contiguous elements: y <- act(x) (y may be x or NULL) and d <- act'(x)
 * (d may be NULL). */
void fm_act_apply(fm_dtype dt, fm_act act, int64_t n, const void *x, void *y,
                  void *d);
/* g <- g * act'(x) in place over n contiguous elements (backward). */
void fm_act_backward(fm_dtype dt, fm_act act, int64_t n, const void *x,
                     void *g);

/* n contiguous elements: d1 <- act'(x) and d2 <- act''(x), the second
 * derivative (reverse mode through a tangent forward, nn/mlp_tangent.c):
 *   silu''    = s (1 - s) (2 + v (1 - 2 s))
 *   sigmoid'' = s (1 - s) (1 - 2 s),  tanh'' = -2 t (1 - t^2),  relu'' = 0
 *   gelu''    = 4 P q + 4 v P q^2 (1 - 2 S) + 12 a c v^2 P with S = s(2u),
 *               P = S (1 - S), q = du/dv = c (1 + 3 a v^2)
 * float32 through the vectorised sigmoid and tanh, float64 through libm. */
void fm_act_second(fm_dtype dt, fm_act act, int64_t n, const void *x, void *d1,
                   void *d2);

#endif
