/* GEMM entry point: degenerate cases, then the chosen path's blocked GEMM. */
#include "fovea_kernels.h"
#include "internal.h"

/* Packing A is one extra pass over A, amortised over the n/NR column slivers that reuse it. For
 * narrow products (conv forward: n = output channels; dense layers: n = units) reading row-major
 * A in place, with software prefetch, was faster on Zen 3 up to n = 256 with NR = 16. */
int fovea_in_place_a(long n, long nr) { return n <= 16 * nr; }

long fovea_fetch_increment(long *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

int fovea_gemm_mr(int path) { (void)path; return 6; }
int fovea_gemm_nr(int path) {
  return path == FOVEA_PATH_AVX512 ? 32 : path == FOVEA_PATH_AVX2 ? 16 : 8;
}

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

void fovea_sgemm(int path, int transA, int transB, long m, long n, long k, float alpha,
                 const float *a, long lda, const float *b, long ldb, float beta, float *c,
                 long ldc, const float *bias, int relu) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_only(m, n, beta, c, ldc, bias, relu);
    return;
  }
  fovea_gemm_fn gemm = fovea_gemm_portable;
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512 && fovea_path_supported(FOVEA_PATH_AVX512))
    gemm = fovea_gemm_avx512;
  else if (path == FOVEA_PATH_AVX2 && fovea_path_supported(FOVEA_PATH_AVX2))
    gemm = fovea_gemm_avx2;
#endif
  gemm(transA != 0, transB != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, relu != 0);
}
