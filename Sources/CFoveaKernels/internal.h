/* Shared by the kernel sources; not part of the public C surface. */
#ifndef FOVEA_INTERNAL_H
#define FOVEA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define FOVEA_X86 1
#else
#define FOVEA_X86 0
#endif

#define FOVEA_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FOVEA_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Eight-lane vectors (GCC/Clang vector extensions: SSE, AVX or NEON, whatever the target has);
 * the _u variants may be unaligned (any float or int32 address). */
typedef float fovea_v8f __attribute__((vector_size(32)));
typedef int32_t fovea_v8i __attribute__((vector_size(32)));
typedef float fovea_v8f_u __attribute__((vector_size(32), aligned(4)));
typedef int32_t fovea_v8i_u __attribute__((vector_size(32), aligned(4)));

/* Per-thread packing buffers (64-byte aligned), grown on demand and reused across calls; freed
 * when the thread exits. Returns NULL only if allocation fails. */
float *fovea_pack_buffers(size_t a_floats, size_t b_floats, float **b_out);

/* The single-threaded GEMM of each path (same contract as fovea_sgemm, m, n, k ≥ 1, alpha ≠ 0;
 * with packed_b, B and transB are unused and op(B) comes from the path's pack function). */
typedef void (*fovea_gemm_fn)(int transA, int transB, long m, long n, long k, float alpha,
                              const float *a, long lda, const float *b, long ldb, float beta,
                              float *c, long ldc, const float *bias, int relu,
                              const float *packed_b);
/* Packs op(B) (k×n) into ⌈n/NR⌉·NR·k floats for the path's packed_b. */
typedef void (*fovea_gemm_pack_fn)(int transB, long n, long k, const float *b, long ldb,
                                   float *packed);
/* fovea_sgemm_packed_batch on one path (count, m, n, k ≥ 1). */
typedef void (*fovea_gemm_batch_fn)(long count, long m, long n, long k, const float *a, long lda,
                                    long stride_a, const float *packed, long stride_b, float *c,
                                    long ldc, long stride_c);
void fovea_gemm_portable(int, int, long, long, long, float, const float *, long, const float *,
                         long, float, float *, long, const float *, int, const float *);
void fovea_gemm_portable_pack(int, long, long, const float *, long, float *);
void fovea_gemm_portable_batch(long, long, long, long, const float *, long, long, const float *, long,
                               float *, long, long);
#if FOVEA_X86
void fovea_gemm_avx2(int, int, long, long, long, float, const float *, long, const float *, long,
                     float, float *, long, const float *, int, const float *);
void fovea_gemm_avx2_pack(int, long, long, const float *, long, float *);
void fovea_gemm_avx2_batch(long, long, long, long, const float *, long, long, const float *, long,
                           float *, long, long);
void fovea_gemm_avx512(int, int, long, long, long, float, const float *, long, const float *,
                       long, float, float *, long, const float *, int, const float *);
void fovea_gemm_avx512_pack(int, long, long, const float *, long, float *);
void fovea_gemm_avx512_batch(long, long, long, long, const float *, long, long, const float *, long,
                             float *, long, long);
#endif

/* Whether the blocked GEMM reads non-transposed A in place rather than packing it. */
int fovea_in_place_a(long n, long nr);

/* Writes an mr×nr corner of a micro-tile: C = alpha·T (+ beta·C) (+ bias) (ReLU). The conditions
 * are hoisted out of the loops: with them inside, the compiler vectorised `beta ≠ 0 ? …c… : …`
 * into masked loads of C and bias, which cost Zen 3 about a quarter of seed-CNN single-image
 * latency (all of its products have edge tiles). */
static inline void fovea_store_edge(long mr, long nr, const float *t, long ldt, float *c, long ldc,
                                    float alpha, float beta, const float *bias, int relu) {
  for (long i = 0; i < mr; i++) {
    const float *tr = t + i * ldt;
    float *cr = c + i * ldc;
    if (beta != 0.0f) {
      for (long j = 0; j < nr; j++) {
        float v = alpha * tr[j];
        cr[j] = beta * cr[j] + v;
      }
    } else {
      for (long j = 0; j < nr; j++) cr[j] = alpha * tr[j];
    }
    if (bias)
      for (long j = 0; j < nr; j++) cr[j] += bias[j];
    if (relu)
      for (long j = 0; j < nr; j++) cr[j] = cr[j] > 0.0f ? cr[j] : 0.0f;
  }
}

#endif
