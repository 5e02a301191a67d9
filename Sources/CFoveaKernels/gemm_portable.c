/* Portable path: no target-specific code. GNU C vector types (GCC and Clang) lower to the build's
 * baseline vectors (SSE2 on x86-64, NEON on arm64) or to scalars; a 4×8 tile keeps eight
 * four-lane accumulators in registers, which plain loops over an array did not achieve. */
#include "internal.h"
#include <string.h>

#define PMR 4
#define PNR 8

typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f splat4(float x) { return (v4f){x, x, x, x}; }

__attribute__((noinline)) static void portable_ukernel(long kc, const float *restrict A,
                                                      const float *restrict B, float *restrict C,
                                                      long ldc, float alpha, float beta,
                                                      const float *restrict bias, int relu) {
  v4f c00 = splat4(0), c01 = splat4(0), c10 = splat4(0), c11 = splat4(0), c20 = splat4(0),
      c21 = splat4(0), c30 = splat4(0), c31 = splat4(0);
  for (long p = 0; p < kc; p++) {
    v4f b0 = load4(B), b1 = load4(B + 4), a;
    a = splat4(A[0]); c00 += a * b0; c01 += a * b1;
    a = splat4(A[1]); c10 += a * b0; c11 += a * b1;
    a = splat4(A[2]); c20 += a * b0; c21 += a * b1;
    a = splat4(A[3]); c30 += a * b0; c31 += a * b1;
    A += PMR;
    B += PNR;
  }
  v4f acc[PMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  v4f valpha = splat4(alpha), vbeta = splat4(beta), zero = splat4(0);
  for (int i = 0; i < PMR; i++) {
    float *row = C + i * ldc;
    for (int h = 0; h < 2; h++) {
      v4f v = valpha * acc[i][h];
      if (beta != 0.0f) v += vbeta * load4(row + 4 * h);
      if (bias) v += load4(bias + 4 * h);
      if (relu) v = (v4f)((v4i)v & (v > zero)); /* lanes that are not > 0 become +0 */
      store4(row + 4 * h, v);
    }
  }
}

#define GEMM_TARGET
#define MR PMR
#define NR PNR
#define MC 128
#define KC 256
#define NC 4096
#define GEMM_NAME fovea_gemm_portable
#define GEMM_UKERNEL portable_ukernel
#include "gemm_driver.inc"
