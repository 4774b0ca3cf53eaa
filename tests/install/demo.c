/* demo.c — a C program against the installed engine (tests/cli/install.sh
 * builds it with `cc demo.c $(pkg-config --cflags --libs fmlua)`):
 *   - A = [[0, 1, 2], [3, 4, 5]] (float64), A A^T through fm_gemm
 *     (OpenBLAS): exactly [[5, 14], [14, 50]];
 *   - the 3 x 3 assignment problem of SciPy's linear_sum_assignment example,
 *     cost [[4, 1, 3], [2, 0, 5], [3, 2, 2]]: columns 1 0 2, total 5;
 *   - a shape error: FM_ESHAPE and a message naming the operation.
 * Prints one result per line; exits 1 if an engine call fails unexpectedly. */
#include <stdio.h>

#include "core/fm.h"
#include "eval/assign.h"
#include "ops/ops.h"

static int gemm_demo(void)
{
    fm_tensor a, out;
    const int64_t sa[2] = {2, 3}, so[2] = {2, 2};
    if (fm_tensor_alloc(&a, FM_FLOAT64, 2, sa) != FM_OK)
        return 1;
    if (fm_tensor_alloc(&out, FM_FLOAT64, 2, so) != FM_OK) {
        fm_tensor_free(&a);
        return 1;
    }
    for (int64_t i = 0; i < 6; i++)
        fm_tensor_set(&a, i, (double)i);
    int rc = fm_gemm(&a, &a, false, true, 1, 0, &out) != FM_OK;
    if (rc)
        fprintf(stderr, "demo: %s\n", fm_last_error());
    else
        printf("gemm %g %g %g %g\n", fm_tensor_get(&out, 0), fm_tensor_get(&out, 1),
               fm_tensor_get(&out, 2), fm_tensor_get(&out, 3));
    /* (2, 3) x (2, 3) without a transpose: the inner sizes differ */
    fm_status bad = fm_gemm(&a, &a, false, false, 1, 0, &out);
    printf("shape error %s: %s\n", fm_status_name(bad), fm_last_error());
    fm_tensor_free(&a);
    fm_tensor_free(&out);
    return rc;
}

static int assign_demo(void)
{
    const double cost[9] = {4, 1, 3, 2, 0, 5, 3, 2, 2};
    int64_t col[3];
    double total;
    if (fm_assign_solve(cost, 3, 3, col, &total) != FM_OK) {
        fprintf(stderr, "demo: %s\n", fm_last_error());
        return 1;
    }
    printf("assign %lld %lld %lld total %g\n", (long long)col[0], (long long)col[1],
           (long long)col[2], total);
    return 0;
}

int main(void)
{
    printf("fmlua %s\n", FM_VERSION);
    int rc = gemm_demo();
    return rc || assign_demo();
}
