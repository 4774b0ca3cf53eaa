/* workspace.c — what every layer kind shares (nn/layer.h): the split of a
 * batch into parts, running parts on the worker pool, per-thread scratch
 * memory planned from the largest request, and GEMM by dtype. */
#include "nn/layer.h"
#include "core/pool.h"

#include <cblas.h>
#include <stdlib.h>

int fm_nn_parts(int64_t n) { return n >= 2 ? FM_NN_PARTS : 1; }

void fm_nn_part_range(int64_t n, int parts, int p, int64_t *lo, int64_t *hi)
{
    *lo = n * p / parts;
    *hi = n * (p + 1) / parts;
}

void fm_nn_parallel(int parts, void (*fn)(void *ctx, int part), void *ctx)
{
    if (parts < 2 || fm_pool_threads() < 2) {
        for (int p = 0; p < parts; p++)
            fn(ctx, p);
        return;
    }
    int nt = openblas_get_num_threads();
    openblas_set_num_threads(1);
    fm_pool_run(parts, fn, ctx);
    openblas_set_num_threads(nt < 1 ? 1 : nt);
}

/* One growing block per thread and slot; the pool's workers live for the
 * process, so their blocks do too (a cache, not tensor memory). */
typedef struct { void *p; size_t bytes; } block;
static _Thread_local block slots[2];

static void *grow(block *b, size_t bytes)
{
    if (bytes <= b->bytes && b->p)
        return b->p;
    size_t n = (bytes + 63) / 64 * 64;
    if (n < 64)
        n = 64;
    void *p = aligned_alloc(64, n);
    if (!p)
        return NULL;
    free(b->p);
    b->p = p;
    b->bytes = n;
    return p;
}

void *fm_nn_scratch(size_t bytes) { return grow(&slots[0], bytes); }
void *fm_nn_scratch2(size_t bytes) { return grow(&slots[1], bytes); }

void fm_nn_gemm(fm_dtype dt, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                const void *A, int64_t lda, const void *B, int64_t ldb,
                double beta, void *C, int64_t ldc)
{
    if (M == 0 || N == 0)
        return;
    enum CBLAS_TRANSPOSE a = ta ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE b = tb ? CblasTrans : CblasNoTrans;
    if (dt == FM_FLOAT32)
        cblas_sgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, 1.0f, A,
                    (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
    else
        cblas_dgemm(CblasRowMajor, a, b, (int)M, (int)N, (int)K, 1.0, A,
                    (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
