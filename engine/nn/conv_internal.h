/* conv_internal.h — shared by conv2d.c (the layer kind: shapes, parts,
 * GEMMs) and conv_kernels.c (the per-dtype copies: im2col, col2im, the
 * phase planes of strided convolutions, chunk scatter/gather, bias). */
#ifndef FM_NN_CONV_INTERNAL_H
#define FM_NN_CONV_INTERNAL_H

#include "nn/layer.h"

typedef struct {
    fm_dtype dt;
    size_t es;
    int64_t N, Cin, H, W, Cout, k, s, p, Ho, Wo, P, K, nb;
    bool direct;   /* 1x1, stride 1, padding 0: col of one image = the image */
} geom;

typedef struct {
    void (*im2col)(const geom *, const void *, int64_t, void *, int64_t,
                   void *);
    void (*col2im)(const geom *, void *, int64_t, int64_t, void *, void *);
    void (*scatter)(const geom *, const void *, int64_t, int64_t, const void *,
                    void *);
    void (*gather)(const geom *, const void *, int64_t, void *, int64_t);
    void (*addbias)(int64_t, int64_t, const void *, void *);
    void (*rowsum)(int64_t, int64_t, const void *, int64_t, void *);
    void (*add)(int64_t, const void *, void *);
} fmi_conv_kernels;

extern const fmi_conv_kernels fmi_conv_kern_f32, fmi_conv_kern_f64;

/* Images per GEMM chunk (see conv_kernels.c, "Chunking"). */
int64_t fmi_conv_chunk(const geom *g);
/* Rows and columns of one phase plane of a strided convolution. */
int64_t fmi_conv_phase_h(const geom *g);
int64_t fmi_conv_phase_w(const geom *g);

#endif
