/* GEMM entry point: degenerate cases, then the chosen path's blocked GEMM. */
#include "fovea_kernels.h"
#include "internal.h"

/* Packing A is one extra pass over A, amortised over the n/NR column slivers that reuse it. For
 * narrow products (conv forward: n = output channels; dense layers: n = units) reading row-major
 * A in place, with software prefetch, was faster on Zen 3 up to n = 256 with NR = 16. */
int fovea_in_place_a(long n, long nr) { return n <= 16 * nr; }

long fovea_fetch_increment(long *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

int fovea_gemm_mr(int path) { (void)path; return 6; }

/* C = beta·C (+ bias) (ReLU): the whole product is zero (k = 0 or alpha = 0; A, B unread). */
static void scale_only(long m, long n, float beta, float *c, long ldc, const float *bias,
                       int relu) {
  for (long i = 0; i < m; i++) {
    float *row = c + i * ldc;
    for (long j = 0; j < n; j++) {
      float v = beta != 0.0f ? beta * row[j] : 0.0f;
      if (bias) v += bias[j];
      if (relu) v = v > 0.0f ? v : 0.0f;
      row[j] = v;
    }
  }
}

/* The blocked GEMM a path runs: the requested one if this CPU has it, else the portable one. */
typedef struct {
  fovea_gemm_fn gemm;
  fovea_gemm_pack_fn pack;
  fovea_gemm_batch_fn batch;
  long nr;
} gemm_impl;

static gemm_impl impl_for(int path) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512 && fovea_path_supported(FOVEA_PATH_AVX512))
    return (gemm_impl){fovea_gemm_avx512, fovea_gemm_avx512_pack, fovea_gemm_avx512_batch, 32};
  if (path == FOVEA_PATH_AVX2 && fovea_path_supported(FOVEA_PATH_AVX2))
    return (gemm_impl){fovea_gemm_avx2, fovea_gemm_avx2_pack, fovea_gemm_avx2_batch, 16};
#endif
  (void)path;
  return (gemm_impl){fovea_gemm_portable, fovea_gemm_portable_pack, fovea_gemm_portable_batch, 8};
}

void fovea_sgemm(int path, int transA, int transB, long m, long n, long k, float alpha,
                 const float *a, long lda, const float *b, long ldb, float beta, float *c,
                 long ldc, const float *bias, int relu) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_only(m, n, beta, c, ldc, bias, relu);
    return;
  }
  impl_for(path).gemm(transA != 0, transB != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
                      relu != 0, NULL);
}

int fovea_gemm_nr(int path) { return (int)impl_for(path).nr; }

long fovea_sgemm_packed_floats(int path, long n, long k) {
  long nr = impl_for(path).nr;
  return n > 0 && k > 0 ? (n + nr - 1) / nr * nr * k : 0;
}

void fovea_sgemm_pack_b(int path, int transB, long n, long k, const float *b, long ldb,
                        float *packed) {
  if (n <= 0 || k <= 0) return;
  impl_for(path).pack(transB != 0, n, k, b, ldb, packed);
}

void fovea_sgemm_packed(int path, int transA, long m, long n, long k, float alpha, const float *a,
                        long lda, const float *packed, float beta, float *c, long ldc,
                        const float *bias, int relu) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_only(m, n, beta, c, ldc, bias, relu);
    return;
  }
  impl_for(path).gemm(transA != 0, 0, m, n, k, alpha, a, lda, NULL, 0, beta, c, ldc, bias,
                      relu != 0, packed);
}

void fovea_sgemm_packed_batch(int path, long count, long m, long n, long k, const float *a,
                              long lda, long stride_a, const float *packed, long stride_b, float *c,
                              long ldc, long stride_c) {
  if (count <= 0 || m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (long x = 0; x < count; x++) scale_only(m, n, 0.0f, c + x * stride_c, ldc, NULL, 0);
    return;
  }
  impl_for(path).batch(count, m, n, k, a, lda, stride_a, packed, stride_b, c, ldc, stride_c);
}
