/* datasets.h — 2-D toy data sets with the literature's defaults.
 *
 * Each set fills an (n, 2) float tensor with fm_rng draws and, when asked,
 * an (n,) int64 tensor of labels (+ base) for class-conditional variants.
 * Defaults (fm_dataset_defaults), after FFJORD's toy_data.py, sklearn and
 * torchcfm:
 *   gaussians8    count 8 components on a circle of radius 5, std sqrt(0.1)
 *                 (variance 0.1); label = component.
 *   moons         sklearn make_moons, noise 0.2, then * 3 - 1 (scale 3,
 *                 shift -1); label = moon (0 upper, 1 lower).
 *   circles       make_circles factor 0.5, noise 0.08, * 3; label = circle
 *                 (0 outer, 1 inner).
 *   checkerboard  FFJORD: 8 unit squares of a 4x4 board, * 2 (scale 2);
 *                 label = square 0..7.
 *   spirals       FFJORD 2spirals: two arms, uniform jitter 0.5, / 3 (scale
 *                 1/3), then Gaussian noise 0.1; label = arm.
 *   swissroll     sklearn make_swiss_roll (x, z) coordinates, noise 1.0, / 5
 *                 (scale 0.2); label = quarter of the roll parameter (0..3).
 *   pinwheel      FFJORD: count 5 arms, radial std 0.3 (noise), tangential
 *                 std 0.1 (factor), rate 0.25, * 2 (scale 2); label = arm.
 */
#ifndef FM_DATASETS_H
#define FM_DATASETS_H

#include "core/rng.h"

typedef enum {
    FM_DATA_GAUSSIANS8, FM_DATA_MOONS, FM_DATA_CIRCLES, FM_DATA_CHECKERBOARD,
    FM_DATA_SPIRALS, FM_DATA_SWISSROLL, FM_DATA_PINWHEEL, FM_DATA_COUNT
} fm_dataset_kind;

typedef struct {
    fm_dataset_kind kind;
    int64_t count;  /* gaussians8: components; pinwheel: arms */
    double radius;  /* gaussians8 */
    double noise;   /* the std of the Gaussian noise (see above) */
    double factor;  /* circles: inner radius; pinwheel: tangential std */
    double rate;    /* pinwheel */
    double scale;   /* applied after generation: x * scale + shift */
    double shift;
} fm_dataset;

const char *fm_dataset_name(fm_dataset_kind kind);
/* Fills the defaults of the named set; FM_EVALUE for an unknown name. */
fm_status fm_dataset_defaults(fm_dataset *ds, const char *name);
/* Number of label values of the set (count for gaussians8/pinwheel). */
int64_t fm_dataset_num_classes(const fm_dataset *ds);
/* out (n, 2) float32/float64; labels (n,) int64 or NULL (values + base). */
fm_status fm_dataset_sample(const fm_dataset *ds, fm_rng *rng, fm_tensor *out,
                            fm_tensor *labels, int64_t base);

#endif
