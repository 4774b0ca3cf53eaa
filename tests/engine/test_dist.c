/* test_dist.c — engine/dist in one process, as a plain program started
 * without a launcher (FM_DIST=0): rank 0 of 1; the collectives check their
 * arguments (dtype, contiguity, mean of integers, root, count) with the
 * messages docs/dist.md shows, and leave valid tensors as they are (a sum
 * or mean over one rank); gather copies; the launcher test reads FM_DIST.
 * The collectives between ranks are tested by tests/cli/dist.sh. */
#define _POSIX_C_SOURCE 200809L
#include "dist/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
    printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); \
    printf("\n"); } } while (0)

static void expect_error(fm_status st, fm_status want, const char *needle)
{
    CHECK(st == want, "status %s, want %s", fm_status_name(st), fm_status_name(want));
    CHECK(strstr(fm_last_error(), needle), "message '%s' lacks '%s'", fm_last_error(), needle);
}

int main(void)
{
    setenv("FM_DIST", "0", 1);
    CHECK(!fm_dist_launched(), "FM_DIST=0: not launched");
    setenv("FM_DIST", "1", 1);
    CHECK(fm_dist_launched(), "FM_DIST=1: launched");
    setenv("FM_DIST", "0", 1);
    CHECK(fm_dist_init(false) == FM_OK, "init without a launcher: %s", fm_last_error());
    CHECK(!fm_dist_initialized(), "init without a launcher does nothing");
    CHECK(fm_dist_rank() == 0 && fm_dist_size() == 1, "one process is rank 0 of 1");

    float a[4] = {1, 2, 3, 4};
    double b[2] = {0.5, -1};
    int64_t c[3] = {7, 8, 9};
    uint8_t u[2] = {1, 2};
    fm_tensor ta, tb, tc, tu, col;
    int64_t s4[] = {4}, s2[] = {2}, s3[] = {3}, s22[] = {2, 2};
    fm_tensor_init(&ta, a, FM_FLOAT32, 1, s4);
    fm_tensor_init(&tb, b, FM_FLOAT64, 1, s2);
    fm_tensor_init(&tc, c, FM_INT64, 1, s3);
    fm_tensor_init(&tu, u, FM_UINT8, 1, s2);
    fm_tensor_init(&col, a, FM_FLOAT32, 2, s22);
    col.stride[0] = 1, col.stride[1] = 2;   /* a transposed view: not contiguous */

    if (fm_dist_built()) {
        fm_tensor *all[] = {&ta, &tb, &tc, NULL};
        CHECK(fm_dist_allreduce(all, 4, FM_DIST_SUM) == FM_OK, "sum: %s", fm_last_error());
        CHECK(a[3] == 4 && b[1] == -1 && c[2] == 9, "a sum over one rank changes nothing");
        fm_tensor *fl[] = {&ta, &tb};
        CHECK(fm_dist_allreduce(fl, 2, FM_DIST_MEAN) == FM_OK, "mean: %s", fm_last_error());
        CHECK(a[0] == 1 && b[0] == 0.5, "a mean over one rank changes nothing");
        CHECK(fm_dist_broadcast(all, 3, 0) == FM_OK, "broadcast: %s", fm_last_error());
        CHECK(fm_dist_barrier() == FM_OK, "barrier: %s", fm_last_error());

        fm_tensor *ints[] = {&tc};
        expect_error(fm_dist_allreduce(ints, 1, FM_DIST_MEAN), FM_ETYPE, "mean of integers");
        fm_tensor *bytes[] = {&ta, &tu};
        expect_error(fm_dist_allreduce(bytes, 2, FM_DIST_SUM), FM_ETYPE,
                     "tensor 2 is uint8; float32, float64 or int64 expected");
        fm_tensor *views[] = {&col};
        expect_error(fm_dist_allreduce(views, 1, FM_DIST_SUM), FM_ELAYOUT,
                     "tensor 1 is not contiguous");
        expect_error(fm_dist_allreduce(all, -1, FM_DIST_SUM), FM_EVALUE, "-1 tensors");
        expect_error(fm_dist_allreduce(all, 1, (fm_dist_op)9), FM_EVALUE, "unknown op 9");
        expect_error(fm_dist_broadcast(all, 1, 1), FM_EINDEX, "root 1 out of range (ranks 0 to 0)");

        float g[4] = {0};
        fm_tensor out;
        int64_t s14[] = {1, 4};
        fm_tensor_init(&out, g, FM_FLOAT32, 2, s14);
        CHECK(fm_dist_gather(&ta, &out, 0) == FM_OK, "gather: %s", fm_last_error());
        CHECK(memcmp(g, a, sizeof g) == 0, "gather over one rank copies");
        expect_error(fm_dist_gather(&ta, &tb, -1), FM_ESHAPE, "float32 tensor of shape (1, 4)");

        char *text = "hello";
        size_t len = 5;
        CHECK(fm_dist_broadcast_bytes(&text, &len, 0) == FM_OK && len == 5 &&
              strcmp(text, "hello") == 0, "bytes over one rank stay");
        expect_error(fm_dist_broadcast_bytes(&text, &len, 2), FM_EINDEX, "root 2 out of range");
    } else {
        fm_tensor *one[] = {&ta};
        expect_error(fm_dist_allreduce(one, 1, FM_DIST_SUM), FM_EVALUE, "built without MPI");
        setenv("FM_DIST", "1", 1);
        expect_error(fm_dist_init(false), FM_EVALUE, "started by an MPI launcher, but");
    }
    CHECK(strcmp(fm_dist_op_name(FM_DIST_MEAN), "mean") == 0, "op names");
    if (failures == 0)
        printf("all passed\n");
    return failures != 0;
}
