/* promote.c — the result dtype of a binary op, by NumPy's promotion rules
 * (NumPy 2, "weak" Lua numbers; docs/tensors.md, "Type promotion").
 *
 * Between tensors: equal dtypes stay; float64 with anything gives float64;
 * int64 with float32 gives float32. That last one is the one departure from
 * NumPy (which widens to float64), taken as torch does: an int64 mask or
 * label times a float32 activation must stay float32 for the float32 layers
 * that follow. A Lua number is weak: it never widens a float tensor,
 * and only a Lua float makes an int64 tensor float (float64). True division
 * and atan2 of integers give float64. uint8 has no arithmetic and is never
 * promoted: mixing it stays an error. */
#include "ops/ops.h"

static bool true_division(fm_binop op) { return op == FM_DIV || op == FM_ATAN2; }

/* int64 results of true division become float64. */
static fm_dtype finish(fm_binop op, fm_dtype d)
{
    return d == FM_INT64 && true_division(op) ? FM_FLOAT64 : d;
}

fm_status fm_promote(fm_binop op, fm_dtype a, fm_dtype b, fm_dtype *out)
{
    if (a == b) {
        *out = a == FM_UINT8 ? a : finish(op, a);
        return FM_OK;
    }
    if (a == FM_UINT8 || b == FM_UINT8)
        return fm_error(FM_ETYPE, "%s: dtype mix (%s and %s); uint8 is not "
                        "promoted", fm_binop_name(op), fm_dtype_name(a),
                        fm_dtype_name(b));
    /* a != b among float32, float64, int64 */
    *out = a == FM_FLOAT64 || b == FM_FLOAT64 ? FM_FLOAT64 : FM_FLOAT32;
    return FM_OK;
}

fm_dtype fm_promote_scalar(fm_binop op, fm_dtype t, bool float_scalar)
{
    if (t == FM_UINT8)
        return t;
    if (t == FM_INT64 && float_scalar)
        return FM_FLOAT64;
    return finish(op, t);
}
