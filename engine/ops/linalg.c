/* ops_linalg.c — matrix products on cblas: gemm on strided views (no copy
 * when one dimension has unit stride), batched bmm, squared distances. */
#include "ops/ops.h"
#include "ops/internal.h"
#include "core/view.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How a 2-D view maps to a row-major BLAS matrix: as stored (trans = false)
 * or as the transpose of a row-major matrix (trans = true), with leading
 * dimension ld. False if neither dim has unit stride. Dims of size 1 may
 * have any stride. */
static bool blas_layout(const fm_tensor *x, bool *trans, int64_t *ld)
{
    int64_t r = x->shape[0], c = x->shape[1];
    int64_t s0 = x->stride[0], s1 = x->stride[1];
    int64_t cmin = c > 1 ? c : 1, rmin = r > 1 ? r : 1;
    if ((c == 1 || s1 == 1) && (r == 1 || s0 >= cmin)) {
        *trans = false;
        *ld = r == 1 ? cmin : s0;
        return true;
    }
    if ((r == 1 || s0 == 1) && (c == 1 || s1 >= rmin)) {
        *trans = true;
        *ld = c == 1 ? rmin : s1;
        return true;
    }
    return false;
}

/* A contiguous copy of x in *buf (malloc'd) when x has no BLAS layout. */
static fm_status blas_operand(const fm_tensor *x, fm_tensor *view, void **buf,
                              bool *trans, int64_t *ld)
{
    *view = *x;
    *buf = NULL;
    if (blas_layout(x, trans, ld))
        return FM_OK;
    *buf = malloc(fm_tensor_nbytes(x) + 8);
    if (!*buf)
        return fm_error(FM_ENOMEM, "gemm: out of memory");
    fm_tensor_init(view, *buf, x->dtype, 2, x->shape);
    fm_status st = fm_copy(view, x);
    if (st)
        return st;
    return blas_layout(view, trans, ld) ? FM_OK
                                        : fm_error(FM_ELAYOUT, "gemm: internal layout error");
}

/* out (n, m) = alpha * A B + beta * out, all layouts resolved; out row-major
 * with leading dim ldc. */
static void call_gemm(fm_dtype dt, bool ta, int64_t lda, const void *A,
                      bool tb, int64_t ldb, const void *B, int64_t n, int64_t m,
                      int64_t k, double alpha, double beta, void *C, int64_t ldc)
{
    if (dt == FM_FLOAT32)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, (int)n, (int)m, (int)k,
                    (float)alpha, A, (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
    else
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, (int)n, (int)m, (int)k,
                    alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

static fm_status gemm_check(const fm_tensor *a, const fm_tensor *b, bool ta,
                            bool tb, const fm_tensor *out)
{
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX], s3[FM_SHAPE_STR_MAX];
    if (a->dtype != b->dtype || a->dtype != out->dtype || !fm_dtype_is_float(a->dtype))
        return fm_error(FM_ETYPE, "matmul: needs one float dtype, got %s, %s and output %s",
                        fm_dtype_name(a->dtype), fm_dtype_name(b->dtype),
                        fm_dtype_name(out->dtype));
    if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2)
        return fm_error(FM_ESHAPE, "matmul: needs 2-d tensors, got %s, %s and output %s",
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2),
                        fm_shape_str(out, s3, sizeof s3));
    int64_t n = a->shape[ta], k = a->shape[!ta];
    int64_t kb = b->shape[tb], m = b->shape[!tb];
    if (k != kb || out->shape[0] != n || out->shape[1] != m)
        return fm_error(FM_ESHAPE, "matmul: shapes %s%s and %s%s do not multiply into %s",
                        fm_shape_str(a, s1, sizeof s1), ta ? "^T" : "",
                        fm_shape_str(b, s2, sizeof s2), tb ? "^T" : "",
                        fm_shape_str(out, s3, sizeof s3));
    if (n > INT32_MAX || m > INT32_MAX || k > INT32_MAX)
        return fm_error(FM_ESHAPE, "matmul: dimensions too large for BLAS");
    return FM_OK;
}

fm_status fm_gemm(const fm_tensor *a, const fm_tensor *b, bool ta, bool tb,
                  double alpha, double beta, fm_tensor *out)
{
    fm_status st = gemm_check(a, b, ta, tb, out);
    if (st)
        return st;
    int64_t n = out->shape[0], m = out->shape[1], k = a->shape[!ta];
    if (n == 0 || m == 0)
        return FM_OK;
    if (k == 0) { /* out = beta * out; beta = 0 means out is not read */
        if (beta == 0)
            return fm_fill(out, 0.0);
        return fm_binary_scalar(FM_MUL, out, beta, false, out);
    }
    fm_tensor av, bv, cv;
    void *abuf = NULL, *bbuf = NULL, *cbuf = NULL;
    bool at = false, bt = false, ct = false;
    int64_t lda = 1, ldb = 1, ldc = 1;
    st = blas_operand(a, &av, &abuf, &at, &lda);
    if (!st)
        st = blas_operand(b, &bv, &bbuf, &bt, &ldb);
    if (!st) {
        cv = *out;
        if (!blas_layout(out, &ct, &ldc)) {
            /* out has no BLAS layout: compute into a contiguous copy */
            cbuf = malloc(fm_tensor_nbytes(out) + 8);
            if (!cbuf)
                st = fm_error(FM_ENOMEM, "matmul: out of memory");
            else {
                fm_tensor_init(&cv, cbuf, out->dtype, 2, out->shape);
                if (beta != 0)
                    st = fm_copy(&cv, out);
                ct = false;
                ldc = m;
            }
        }
    }
    if (!st) {
        bool opa = at != ta, opb = bt != tb; /* BLAS transposes of the stored matrices */
        if (!ct)
            call_gemm(a->dtype, opa, lda, av.data, opb, ldb, bv.data, n, m, k,
                      alpha, beta, cv.data, ldc);
        else /* out stored transposed: out^T = op(b)^T op(a)^T */
            call_gemm(a->dtype, !opb, ldb, bv.data, !opa, lda, av.data, m, n, k,
                      alpha, beta, cv.data, ldc);
        if (cbuf)
            st = fm_copy(out, &cv);
    }
    free(abuf);
    free(bbuf);
    free(cbuf);
    return st;
}

fm_status fm_bmm(const fm_tensor *a, const fm_tensor *b, fm_tensor *out)
{
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX], s3[FM_SHAPE_STR_MAX];
    if (a->ndim != 3 || b->ndim != 3 || out->ndim != 3 || a->shape[0] != b->shape[0]
        || out->shape[0] != a->shape[0])
        return fm_error(FM_ESHAPE, "bmm: needs (B, n, k), (B, k, m) -> (B, n, m), got %s, %s and %s",
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2),
                        fm_shape_str(out, s3, sizeof s3));
    for (int64_t i = 0; i < a->shape[0]; i++) {
        fm_tensor ai, bi, oi;
        fm_view_select(a, 0, i, &ai);
        fm_view_select(b, 0, i, &bi);
        fm_view_select(out, 0, i, &oi);
        fm_status st = fm_gemm(&ai, &bi, false, false, 1.0, 0.0, &oi);
        if (st) {
            if (i == 0)
                return fm_error(st, "bmm: shapes %s and %s do not multiply into %s",
                                fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2),
                                fm_shape_str(out, s3, sizeof s3));
            return st;
        }
    }
    if (a->shape[0] == 0) { /* still check the matrix shapes */
        if (a->shape[2] != b->shape[1] || out->shape[1] != a->shape[1]
            || out->shape[2] != b->shape[2])
            return fm_error(FM_ESHAPE, "bmm: shapes %s and %s do not multiply into %s",
                            fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2),
                            fm_shape_str(out, s3, sizeof s3));
    }
    return FM_OK;
}

/* Squared row norms of x (n, d) in double. */
static void row_norms2(const fm_tensor *x, double *r)
{
    for (int64_t i = 0; i < x->shape[0]; i++) {
        double s = 0;
        for (int64_t j = 0; j < x->shape[1]; j++) {
            int64_t off = i * x->stride[0] + j * x->stride[1];
            double v = x->dtype == FM_FLOAT32 ? ((const float *)x->data)[off]
                                              : ((const double *)x->data)[off];
            s += v * v;
        }
        r[i] = s;
    }
}

/* ||a_i - b_j||^2 = ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j (one gemm), clamped at
 * 0 against rounding; exactly 0 on the diagonal when a is b. */
fm_status fm_cdist2(const fm_tensor *a, const fm_tensor *b, fm_tensor *out)
{
    char s1[FM_SHAPE_STR_MAX], s2[FM_SHAPE_STR_MAX], s3[FM_SHAPE_STR_MAX];
    if (a->dtype != b->dtype || a->dtype != out->dtype || !fm_dtype_is_float(a->dtype))
        return fm_error(FM_ETYPE, "cdist2: needs one float dtype, got %s, %s and output %s",
                        fm_dtype_name(a->dtype), fm_dtype_name(b->dtype),
                        fm_dtype_name(out->dtype));
    if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2 || a->shape[1] != b->shape[1]
        || out->shape[0] != a->shape[0] || out->shape[1] != b->shape[0])
        return fm_error(FM_ESHAPE, "cdist2: needs (n, d), (m, d) -> (n, m), got %s, %s and %s",
                        fm_shape_str(a, s1, sizeof s1), fm_shape_str(b, s2, sizeof s2),
                        fm_shape_str(out, s3, sizeof s3));
    int64_t n = a->shape[0], m = b->shape[0];
    double *na = malloc((size_t)(n + m + 1) * sizeof(double));
    if (!na)
        return fm_error(FM_ENOMEM, "cdist2: out of memory");
    double *nb = na + n;
    row_norms2(a, na);
    row_norms2(b, nb);
    fm_status st = fm_gemm(a, b, false, true, -2.0, 0.0, out);
    bool same = a->data == b->data && fm_tensor_same_shape(a, b)
                && a->stride[0] == b->stride[0] && a->stride[1] == b->stride[1];
    for (int64_t i = 0; !st && i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            int64_t off = i * out->stride[0] + j * out->stride[1];
            if (out->dtype == FM_FLOAT32) {
                float *p = (float *)out->data + off;
                double v = na[i] + nb[j] + (double)*p;
                *p = (same && i == j) || v < 0 ? 0.0f : (float)v;
            } else {
                double *p = (double *)out->data + off;
                double v = na[i] + nb[j] + *p;
                *p = (same && i == j) || v < 0 ? 0.0 : v;
            }
        }
    free(na);
    return st;
}
