/* clones_internal.h — FM_TARGET_CLONES, the one guard around gcc's
 * target_clones (private to the engine, not installed).
 *
 * A function marked FM_TARGET_CLONES is compiled three times, for x86-64-v4
 * (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline, and the dynamic loader
 * picks one copy for the CPU at start-up (an ifunc). The mark is empty, and
 * the function compiled once for the target's default, when
 *   - the target is not x86-64 (aarch64, ...: the arch= names are x86 only);
 *   - the compiler is not gcc 11 or newer (x86-64-v3/v4 are gcc 11 names;
 *     clang spells target_clones differently);
 *   - FM_NO_CLONES is defined: CMakeLists.txt defines it when a test program
 *     with target_clones does not build and link (no ifunc, e.g. musl), and
 *     it can be set by hand (-DFM_NO_CLONES) for a baseline-only library.
 * The copies differ only in instruction selection (vector width, fused
 * multiply-add), so results may differ in the last bit between CPUs, never
 * between runs on one machine. */
#ifndef FM_CLONES_INTERNAL_H
#define FM_CLONES_INTERNAL_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    __GNUC__ >= 11 && !defined(FM_NO_CLONES)
#define FM_TARGET_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FM_TARGET_CLONES
#endif

#endif
