/* Elementwise passes of the fused ops' backward: the ReLU gate and bias gradients, and the fused
 * first-layer (one-channel) convolution backward. Plain C that the compiler vectorises for the
 * baseline ISA, plus an AVX2 kernel for 3×3; in Swift, closures per element cost 5-10x more. */
#include <stdlib.h>
#include "fovea_kernels.h"

void fovea_relu_gate(const float *restrict gradient, const float *restrict output,
                     float *restrict result, long count) {
  for (long i = 0; i < count; i++) result[i] = output[i] > 0.0f ? gradient[i] : 0.0f;
}

void fovea_column_sums(const float *restrict x, long rows, long columns, float *restrict sums) {
  for (long j = 0; j < columns; j++) sums[j] = 0.0f;
  for (long i = 0; i < rows; i++) {
    const float *restrict row = x + i * columns;
    for (long j = 0; j < columns; j++) sums[j] += row[j];
  }
}

#if defined(__x86_64__)
#include <immintrin.h>
/* 3×3 taps, 8 filters at a time: the 9 kernel-gradient vectors and the bias sum stay in registers
 * across a whole output row; the row's patches are broadcast from `patches` (outW × 9). */
__attribute__((target("avx2,fma"))) static void conv1_row_3x3_avx2(
    const float *patches, long outW, const float *g, const float *o, long filters,
    float *gradKernel, float *gradBias, long k0) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
         a8 = a0, bias = a0, zero = a0;
  for (long ox = 0; ox < outW; ox++) {
    __m256 dz = _mm256_loadu_ps(g + ox * filters + k0);
    if (o) dz = _mm256_and_ps(dz, _mm256_cmp_ps(_mm256_loadu_ps(o + ox * filters + k0), zero, _CMP_GT_OQ));
    bias = _mm256_add_ps(bias, dz);
    const float *p = patches + ox * 9;
    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 0), dz, a0);
    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 1), dz, a1);
    a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 2), dz, a2);
    a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 3), dz, a3);
    a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 4), dz, a4);
    a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 5), dz, a5);
    a6 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 6), dz, a6);
    a7 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 7), dz, a7);
    a8 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 8), dz, a8);
  }
  __m256 acc[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
  for (int t = 0; t < 9; t++) {
    float *row = gradKernel + t * filters + k0;
    _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[t]));
  }
  if (gradBias) _mm256_storeu_ps(gradBias + k0, _mm256_add_ps(_mm256_loadu_ps(gradBias + k0), bias));
}
#endif

int fovea_conv1_backward(const float *restrict input, long height, long width, long kernelH,
                          long kernelW, long strideH, long strideW, long dilationH,
                          long dilationW, long padTop, long padLeft, long outH, long outW,
                          const float *restrict gradient, const float *restrict output,
                          long filters, float *restrict gradKernel, float *restrict gradBias,
                          long rowBegin, long rowEnd) {
  long taps = kernelH * kernelW;
  /* One output row's patches (im2col of the row), reused by every filter. */
  float *patches = malloc((size_t)(outW * taps > 0 ? outW * taps : 1) * sizeof(float));
  if (!patches) return -1;
#if defined(__x86_64__)
  long vectorFilters = taps == 9 && fovea_path_supported(FOVEA_PATH_AVX2) ? filters / 8 * 8 : 0;
#else
  long vectorFilters = 0;
#endif
  for (long pair = rowBegin; pair < rowEnd; pair++) {
    long b = pair / outH, oy = pair % outH;
    const float *image = input + b * height * width;
    for (long ox = 0; ox < outW; ox++) {
      for (long ky = 0; ky < kernelH; ky++) {
        long iy = oy * strideH - padTop + ky * dilationH;
        for (long kx = 0; kx < kernelW; kx++) {
          long ix = ox * strideW - padLeft + kx * dilationW;
          patches[ox * taps + ky * kernelW + kx] =
              iy >= 0 && iy < height && ix >= 0 && ix < width ? image[iy * width + ix] : 0.0f;
        }
      }
    }
    const float *g = gradient + pair * outW * filters;
    const float *o = output ? output + pair * outW * filters : NULL;
#if defined(__x86_64__)
    for (long k0 = 0; k0 < vectorFilters; k0 += 8)
      conv1_row_3x3_avx2(patches, outW, g, o, filters, gradKernel, gradBias, k0);
#endif
    /* The filters the vector loop did not take: plain C. */
    for (long ox = 0; ox < outW; ox++) {
      const float *p = patches + ox * taps;
      for (long k = vectorFilters; k < filters; k++) {
        float dz = g[ox * filters + k];
        if (o && !(o[ox * filters + k] > 0.0f)) dz = 0.0f;
        if (gradBias) gradBias[k] += dz;
        for (long t = 0; t < taps; t++) gradKernel[t * filters + k] += p[t] * dz;
      }
    }
  }
  free(patches);
  return 0;
}

void fovea_sum_slices(float *restrict base, long slices, long size) {
  for (long s = 1; s < slices; s++) {
    const float *restrict src = base + s * size;
    for (long i = 0; i < size; i++) base[i] += src[i];
  }
}
