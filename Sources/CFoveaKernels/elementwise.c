/* Elementwise passes of the fused ops' backward: the ReLU gate and bias gradients, and the fused
 * first-layer (one-channel) convolution backward. Plain C that the compiler vectorises for the
 * baseline ISA, plus an AVX2 kernel for 3×3; in Swift, closures per element cost 5-10x more. */
#include <stdlib.h>
#include "fovea_kernels.h"
#include "internal.h"

void fovea_relu_gate(const float *restrict gradient, const float *restrict output,
                     float *restrict result, long count) {
  long i = 0;
  /* A mask, not a branch: the sign of a ReLU's output is a coin toss, and the branchy scalar loop
   * the compiler made of the plain ternary mispredicted half the time (7% of a seed-CNN training
   * step, one thread). */
  for (; i + 8 <= count; i += 8) {
    fovea_v8f_u o = *(const fovea_v8f_u *)(output + i), g = *(const fovea_v8f_u *)(gradient + i);
    fovea_v8i positive = o > (fovea_v8f_u){0};
    *(fovea_v8f_u *)(result + i) = (fovea_v8f_u)((fovea_v8i)g & positive);
  }
  for (; i < count; i++) result[i] = output[i] > 0.0f ? gradient[i] : 0.0f;
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
#define CONV1_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/* acc[t] += patch[t]·dz for the 9 taps (the compiler keeps the array in registers). */
CONV1_AVX2 void conv1_taps_fma(__m256 acc[9], const float *p, __m256 dz) {
  for (int t = 0; t < 9; t++) acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + t), dz, acc[t]);
}

/* Adds the 9 tap sums and the bias sum of filters k0..<k0+8 into the gradients. */
CONV1_AVX2 void conv1_taps_store(const __m256 acc[9], __m256 bias, float *gradKernel,
                                 float *gradBias, long filters, long k0) {
  for (int t = 0; t < 9; t++) {
    float *row = gradKernel + t * filters + k0;
    _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[t]));
  }
  if (gradBias) _mm256_storeu_ps(gradBias + k0, _mm256_add_ps(_mm256_loadu_ps(gradBias + k0), bias));
}

/* dz gated by output > 0 when the output is given (the fused ReLU). */
CONV1_AVX2 __m256 conv1_gate(__m256 dz, const float *o) {
  return o ? _mm256_and_ps(dz, _mm256_cmp_ps(_mm256_loadu_ps(o), _mm256_setzero_ps(), _CMP_GT_OQ)) : dz;
}

/* 3×3 taps, 8 filters at a time: the 9 kernel-gradient vectors and the bias sum stay in registers
 * across a whole output row; the row's patches are broadcast from `patches` (outW × 9). */
__attribute__((target("avx2,fma"))) static void conv1_row_3x3_avx2(
    const float *patches, long outW, const float *g, const float *o, long filters,
    float *gradKernel, float *gradBias, long k0) {
  __m256 acc[9], bias = _mm256_setzero_ps();
  for (int t = 0; t < 9; t++) acc[t] = bias;
  for (long ox = 0; ox < outW; ox++) {
    __m256 dz = conv1_gate(_mm256_loadu_ps(g + ox * filters + k0), o ? o + ox * filters + k0 : NULL);
    bias = _mm256_add_ps(bias, dz);
    conv1_taps_fma(acc, patches + ox * 9, dz);
  }
  conv1_taps_store(acc, bias, gradKernel, gradBias, filters, k0);
}

/* The same for a convolution whose 2×2 max pool was fused into it: one pooled row's gradient `g`
 * (poolW × filters) reaches, in each window, only the cell `argmax` names (0 top-left, 1 top-right,
 * 2 bottom-left, 3 bottom-right), gated by the pooled (ReLU) output `o` when given; `top` and
 * `bottom` hold the patches of the window's two convolution rows (9 floats per column). */
__attribute__((target("avx2,fma"))) static void conv1_pool_row_3x3_avx2(
    const float *top, const float *bottom, long poolW, const float *g, const float *o,
    const uint8_t *argmax, long filters, float *gradKernel, float *gradBias, long k0) {
  __m256 acc[9], bias = _mm256_setzero_ps();
  for (int t = 0; t < 9; t++) acc[t] = bias;
  for (long px = 0; px < poolW; px++) {
    __m256 gp = conv1_gate(_mm256_loadu_ps(g + px * filters + k0), o ? o + px * filters + k0 : NULL);
    bias = _mm256_add_ps(bias, gp);
    __m256i codes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(argmax + px * filters + k0)));
    for (int q = 0; q < 4; q++) {
      __m256 dz = _mm256_and_ps(gp, _mm256_castsi256_ps(_mm256_cmpeq_epi32(codes, _mm256_set1_epi32(q))));
      conv1_taps_fma(acc, (q < 2 ? top : bottom) + (2 * px + (q & 1)) * 9, dz);
    }
  }
  conv1_taps_store(acc, bias, gradKernel, gradBias, filters, k0);
}
#endif

/* How many of the filters the AVX2 loops take (whole groups of 8, 3×3 windows); plain C does the rest. */
static long vector_filters(long taps, long filters) {
#if defined(__x86_64__)
  return taps == 9 && fovea_path_supported(FOVEA_PATH_AVX2) ? filters / 8 * 8 : 0;
#else
  (void)taps; (void)filters;
  return 0;
#endif
}

/* The patches (im2col rows, kernelH·kernelW taps each, zero outside the image) of output columns
 * 0..<count of output row `oy` of a one-channel image. */
static void row_patches(const float *image, long height, long width, long kernelH, long kernelW,
                        long strideH, long strideW, long dilationH, long dilationW, long padTop,
                        long padLeft, long oy, long count, float *patches) {
  long taps = kernelH * kernelW;
  /* Tap by tap, over the columns whose cell is inside the image: no bounds test per cell. */
  for (long ky = 0; ky < kernelH; ky++) {
    long iy = oy * strideH - padTop + ky * dilationH;
    for (long kx = 0; kx < kernelW; kx++) {
      long t = ky * kernelW + kx, offset = kx * dilationW - padLeft;
      long first = 0, end = 0; /* columns first..<end have 0 <= ox·strideW + offset < width */
      if (iy >= 0 && iy < height) {
        first = offset >= 0 ? 0 : (-offset + strideW - 1) / strideW;
        end = offset >= width ? 0 : (width - 1 - offset) / strideW + 1;
        if (first > count) first = count;
        if (end > count) end = count;
        if (end < first) end = first;
      }
      for (long ox = 0; ox < first; ox++) patches[ox * taps + t] = 0.0f;
      for (long ox = first; ox < end; ox++) patches[ox * taps + t] = image[iy * width + ox * strideW + offset];
      for (long ox = end; ox < count; ox++) patches[ox * taps + t] = 0.0f;
    }
  }
}

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
  long vectorFilters = vector_filters(taps, filters);
  for (long pair = rowBegin; pair < rowEnd; pair++) {
    long b = pair / outH, oy = pair % outH;
    row_patches(input + b * height * width, height, width, kernelH, kernelW, strideH, strideW,
                dilationH, dilationW, padTop, padLeft, oy, outW, patches);
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

int fovea_conv1_pool_backward(const float *restrict input, long height, long width,
                               long kernelH, long kernelW, long strideH, long strideW,
                               long dilationH, long dilationW, long padTop, long padLeft,
                               long outH, long outW, const float *restrict gradient,
                               const float *restrict pooled, const uint8_t *restrict argmax,
                               long filters, float *restrict gradKernel, float *restrict gradBias,
                               long rowBegin, long rowEnd) {
  long taps = kernelH * kernelW, poolH = outH / 2, poolW = outW / 2, span = 2 * poolW;
  /* The patches of a pooled row's two convolution rows (only the columns a window covers). */
  float *top = malloc((size_t)(2 * span * taps > 0 ? 2 * span * taps : 1) * sizeof(float));
  if (!top) return -1;
  float *bottom = top + span * taps;
  long vectorFilters = vector_filters(taps, filters);
  for (long r = rowBegin; r < rowEnd; r++) {
    long b = r / poolH, py = r % poolH;
    const float *image = input + b * height * width;
    row_patches(image, height, width, kernelH, kernelW, strideH, strideW, dilationH, dilationW,
                padTop, padLeft, 2 * py, span, top);
    row_patches(image, height, width, kernelH, kernelW, strideH, strideW, dilationH, dilationW,
                padTop, padLeft, 2 * py + 1, span, bottom);
    const float *g = gradient + r * poolW * filters;
    const float *o = pooled ? pooled + r * poolW * filters : NULL;
    const uint8_t *a = argmax + r * poolW * filters;
#if defined(__x86_64__)
    for (long k0 = 0; k0 < vectorFilters; k0 += 8)
      conv1_pool_row_3x3_avx2(top, bottom, poolW, g, o, a, filters, gradKernel, gradBias, k0);
#endif
    for (long px = 0; px < poolW; px++) {
      for (long k = vectorFilters; k < filters; k++) {
        long i = px * filters + k;
        float dz = g[i];
        if (o && !(o[i] > 0.0f)) dz = 0.0f;
        int q = a[i] & 3;
        const float *p = (q < 2 ? top : bottom) + (2 * px + (q & 1)) * taps;
        if (gradBias) gradBias[k] += dz;
        for (long t = 0; t < taps; t++) gradKernel[t * filters + k] += p[t] * dz;
      }
    }
  }
  free(top);
  return 0;
}

void fovea_sum_slices(float *restrict base, long slices, long size) {
  for (long s = 1; s < slices; s++) {
    const float *restrict src = base + s * size;
    for (long i = 0; i < size; i++) base[i] += src[i];
  }
}
