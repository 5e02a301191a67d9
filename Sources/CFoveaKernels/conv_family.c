/* Batch normalization, depthwise convolution and grouped im2col/col2im (see
 * fovea_kernels_conv_family.h). Batch normalization and the layout transforms are plain C over
 * channel runs, which the compiler vectorises for the baseline ISA (they move memory more than they
 * compute); the depthwise convolution has a path per instruction set (depthwise.inc). */
#include <string.h>
#include "fovea_kernels.h"
#include "fovea_kernels_conv_family.h"
#include "internal.h"

/* ---- Batch normalization ---- */

/* Sums in double throughout: a Float sum's rounding would be shared by every output of a channel
 * (through its mean, or a gradient's coefficient), so it would not average out of anything computed
 * from them, and the sums behind gamma's gradient cancel (Σ dy·(x − mean) is far below
 * Σ |dy·(x − mean)|). Converting and adding doubles, not memory, bounds these loops, so each
 * instruction set gets its own copy: on [16, 56, 56, 64], one thread, the moments took 1.53 ms in
 * SSE2 and 0.85-0.87 ms with AVX2 or AVX-512, the gradient sums 1.83 and 1.12-1.17 ms. */
static inline __attribute__((always_inline)) void bn_moments_body(
    const float *x, long channels, const float *shift, long rowBegin, long rowEnd,
    long channelBegin, long channelEnd, double *restrict sum, double *restrict sumSquares) {
  const float *restrict k = shift;
  for (long c = channelBegin; c < channelEnd; c++) sum[c] = sumSquares[c] = 0.0;
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *restrict row = x + r * channels;
    for (long c = channelBegin; c < channelEnd; c++) {
      double d = (double)row[c] - (double)k[c];
      sum[c] += d;
      sumSquares[c] += d * d;
    }
  }
}

static inline __attribute__((always_inline)) void bn_backward_sums_body(
    const float *gradOutput, const float *x, long channels, const float *meanHigh,
    const float *meanLow, long rowBegin, long rowEnd, long channelBegin, long channelEnd,
    double *restrict sumGrad, double *restrict sumGradCentered, double *restrict mean) {
  for (long c = channelBegin; c < channelEnd; c++) {
    sumGrad[c] = sumGradCentered[c] = 0.0;
    mean[c] = (double)meanHigh[c] + (meanLow ? (double)meanLow[c] : 0.0);
  }
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *restrict g = gradOutput + r * channels;
    const float *restrict row = x + r * channels;
    for (long c = channelBegin; c < channelEnd; c++) {
      double dy = g[c];
      sumGrad[c] += dy;
      sumGradCentered[c] += dy * ((double)row[c] - mean[c]);
    }
  }
}

#define BN_PATH(suffix, target)                                                                  \
  target static void bn_moments_##suffix(const float *x, long channels, const float *shift,      \
                                         long rowBegin, long rowEnd, long channelBegin,          \
                                         long channelEnd, double *sum, double *sumSquares) {     \
    bn_moments_body(x, channels, shift, rowBegin, rowEnd, channelBegin, channelEnd, sum,         \
                    sumSquares);                                                                 \
  }                                                                                              \
  target static void bn_backward_sums_##suffix(                                                  \
      const float *gradOutput, const float *x, long channels, const float *meanHigh,             \
      const float *meanLow, long rowBegin, long rowEnd, long channelBegin, long channelEnd,      \
      double *sumGrad, double *sumGradCentered, double *mean) {                                  \
    bn_backward_sums_body(gradOutput, x, channels, meanHigh, meanLow, rowBegin, rowEnd,          \
                          channelBegin, channelEnd, sumGrad, sumGradCentered, mean);             \
  }
BN_PATH(portable, )
#if FOVEA_X86
BN_PATH(avx2, __attribute__((target("avx2,fma"))))
BN_PATH(avx512, __attribute__((target("avx512f,fma"))))
#endif

void fovea_bn_moments(int path, const float *x, long channels, const float *shift, long rowBegin,
                      long rowEnd, long channelBegin, long channelEnd, double *sum,
                      double *sumSquares) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512) {
    bn_moments_avx512(x, channels, shift, rowBegin, rowEnd, channelBegin, channelEnd, sum, sumSquares);
    return;
  }
  if (path == FOVEA_PATH_AVX2) {
    bn_moments_avx2(x, channels, shift, rowBegin, rowEnd, channelBegin, channelEnd, sum, sumSquares);
    return;
  }
#endif
  (void)path;
  bn_moments_portable(x, channels, shift, rowBegin, rowEnd, channelBegin, channelEnd, sum, sumSquares);
}

void fovea_bn_backward_sums(int path, const float *gradOutput, const float *x, long channels,
                            const float *meanHigh, const float *meanLow, long rowBegin, long rowEnd,
                            long channelBegin, long channelEnd, double *sumGrad,
                            double *sumGradCentered, double *mean) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512) {
    bn_backward_sums_avx512(gradOutput, x, channels, meanHigh, meanLow, rowBegin, rowEnd,
                            channelBegin, channelEnd, sumGrad, sumGradCentered, mean);
    return;
  }
  if (path == FOVEA_PATH_AVX2) {
    bn_backward_sums_avx2(gradOutput, x, channels, meanHigh, meanLow, rowBegin, rowEnd,
                          channelBegin, channelEnd, sumGrad, sumGradCentered, mean);
    return;
  }
#endif
  (void)path;
  bn_backward_sums_portable(gradOutput, x, channels, meanHigh, meanLow, rowBegin, rowEnd,
                            channelBegin, channelEnd, sumGrad, sumGradCentered, mean);
}

void fovea_bn_normalize(const float *x, long channels, const float *meanHigh,
                        const float *meanLow, const float *scale, const float *beta, float *y,
                        long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *src = x + r * channels;
    float *dst = y + r * channels;
    if (beta)
      for (long c = 0; c < channels; c++) dst[c] = ((src[c] - meanHigh[c]) - meanLow[c]) * scale[c] + beta[c];
    else
      for (long c = 0; c < channels; c++) dst[c] = ((src[c] - meanHigh[c]) - meanLow[c]) * scale[c];
  }
}

void fovea_channel_affine(const float *x, long channels, const float *scale, const float *shift,
                          float *y, long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *src = x + r * channels;
    float *dst = y + r * channels;
    if (shift)
      for (long c = 0; c < channels; c++) dst[c] = src[c] * scale[c] + shift[c];
    else
      for (long c = 0; c < channels; c++) dst[c] = src[c] * scale[c];
  }
}

void fovea_bn_input_gradient(const float *gradOutput, const float *x, long channels,
                             const float *mean, const float *a, const float *b, const float *d,
                             float *gradInput, long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *restrict g = gradOutput + r * channels;
    const float *restrict row = x + r * channels;
    float *restrict dx = gradInput + r * channels;
    for (long c = 0; c < channels; c++) dx[c] = g[c] * a[c] + (row[c] - mean[c]) * b[c] + d[c];
  }
}

/* ---- Depthwise convolution ---- */

/* First and one-past-last tap t in 0..<taps with 0 ≤ origin + t·dilation < size. */
static inline void dw_valid_taps(long origin, long dilation, long taps, long size, long *first,
                                 long *end) {
  long lo = 0, hi = taps;
  if (origin < 0) lo = (-origin + dilation - 1) / dilation;
  if (origin + (taps - 1) * dilation >= size) hi = origin < size ? (size - 1 - origin) / dilation + 1 : 0;
  if (hi < lo) hi = lo;
  *first = FOVEA_MIN(lo, taps);
  *end = FOVEA_MIN(hi, taps);
}

/* First and one-past-last output o in 0..<outputs with 0 ≤ o·stride + offset < size. */
static inline void dw_valid_outputs(long offset, long stride, long size, long outputs, long *first,
                                    long *end) {
  long lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  long hi = offset >= size ? 0 : (size - 1 - offset) / stride + 1;
  lo = FOVEA_MIN(lo, outputs);
  hi = FOVEA_MIN(hi, outputs);
  *first = lo;
  *end = hi > lo ? hi : lo;
}

#define dw_vec fovea_v8f_u
#define DW_LANES 8
#define DW_TARGET
#define DW_SUFFIX portable
#include "depthwise.inc"
#undef DW_TARGET
#undef DW_SUFFIX

#undef dw_vec
#undef DW_LANES

#if FOVEA_X86
#define dw_vec fovea_v8f_u
#define DW_LANES 8
#define DW_TARGET __attribute__((target("avx2,fma")))
#define DW_SUFFIX avx2
#include "depthwise.inc"
#undef DW_TARGET
#undef DW_SUFFIX
#undef DW_LANES
#undef dw_vec

typedef float dw_v16 __attribute__((vector_size(64), aligned(4)));
#define dw_vec dw_v16
#define DW_LANES 16
#define DW_TARGET __attribute__((target("avx512f,fma")))
#define DW_SUFFIX avx512
#include "depthwise.inc"
#undef DW_TARGET
#undef DW_SUFFIX
#undef DW_LANES
#undef dw_vec
#endif

void fovea_depthwise_forward(int path, const float *input, long height, long width,
                             long channels, long kernelH, long kernelW, long strideH, long strideW,
                             long dilationH, long dilationW, long padTop, long padLeft, long outH,
                             long outW, const float *kernel, const float *bias, float *output,
                             long rowBegin, long rowEnd) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512) {
    forward_avx512(input, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH,
                   dilationW, padTop, padLeft, outH, outW, kernel, bias, output, rowBegin, rowEnd);
    return;
  }
  if (path == FOVEA_PATH_AVX2) {
    forward_avx2(input, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH,
                 dilationW, padTop, padLeft, outH, outW, kernel, bias, output, rowBegin, rowEnd);
    return;
  }
#endif
  (void)path;
  forward_portable(input, height, width, channels, kernelH, kernelW, strideH, strideW, dilationH,
                   dilationW, padTop, padLeft, outH, outW, kernel, bias, output, rowBegin, rowEnd);
}

void fovea_depthwise_backward_input(int path, const float *gradOutput, long height, long width,
                                    long channels, long kernelH, long kernelW, long strideH,
                                    long strideW, long dilationH, long dilationW, long padTop,
                                    long padLeft, long outH, long outW, const float *kernel,
                                    float *gradInput, long rowBegin, long rowEnd) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512) {
    backward_input_avx512(gradOutput, height, width, channels, kernelH, kernelW, strideH, strideW,
                          dilationH, dilationW, padTop, padLeft, outH, outW, kernel, gradInput,
                          rowBegin, rowEnd);
    return;
  }
  if (path == FOVEA_PATH_AVX2) {
    backward_input_avx2(gradOutput, height, width, channels, kernelH, kernelW, strideH, strideW,
                        dilationH, dilationW, padTop, padLeft, outH, outW, kernel, gradInput,
                        rowBegin, rowEnd);
    return;
  }
#endif
  (void)path;
  backward_input_portable(gradOutput, height, width, channels, kernelH, kernelW, strideH, strideW,
                          dilationH, dilationW, padTop, padLeft, outH, outW, kernel, gradInput,
                          rowBegin, rowEnd);
}

void fovea_depthwise_backward_kernel(int path, const float *input, long height, long width,
                                     long channels, long kernelH, long kernelW, long strideH,
                                     long strideW, long dilationH, long dilationW, long padTop,
                                     long padLeft, long outH, long outW, const float *gradOutput,
                                     float *gradKernel, long rowBegin, long rowEnd,
                                     long channelBegin, long channelEnd) {
#if FOVEA_X86
  if (path == FOVEA_PATH_AVX512) {
    backward_kernel_avx512(input, height, width, channels, kernelH, kernelW, strideH, strideW,
                           dilationH, dilationW, padTop, padLeft, outH, outW, gradOutput,
                           gradKernel, rowBegin, rowEnd, channelBegin, channelEnd);
    return;
  }
  if (path == FOVEA_PATH_AVX2) {
    backward_kernel_avx2(input, height, width, channels, kernelH, kernelW, strideH, strideW,
                         dilationH, dilationW, padTop, padLeft, outH, outW, gradOutput,
                         gradKernel, rowBegin, rowEnd, channelBegin, channelEnd);
    return;
  }
#endif
  (void)path;
  backward_kernel_portable(input, height, width, channels, kernelH, kernelW, strideH, strideW,
                           dilationH, dilationW, padTop, padLeft, outH, outW, gradOutput,
                           gradKernel, rowBegin, rowEnd, channelBegin, channelEnd);
}

void fovea_depthwise_expand(const float *x, long channels, long multiplier, float *out,
                            long pixelBegin, long pixelEnd) {
  for (long p = pixelBegin; p < pixelEnd; p++) {
    const float *restrict s = x + p * channels;
    float *restrict d = out + p * channels * multiplier;
    for (long c = 0; c < channels; c++)
      for (long m = 0; m < multiplier; m++) d[c * multiplier + m] = s[c];
  }
}

void fovea_depthwise_contract(const float *x, long channels, long multiplier, float *out,
                              long pixelBegin, long pixelEnd) {
  for (long p = pixelBegin; p < pixelEnd; p++) {
    const float *restrict s = x + p * channels * multiplier;
    float *restrict d = out + p * channels;
    for (long c = 0; c < channels; c++) {
      float acc = s[c * multiplier];
      for (long m = 1; m < multiplier; m++) acc += s[c * multiplier + m];
      d[c] = acc;
    }
  }
}

/* ---- Grouped im2col / col2im ---- */

void fovea_im2col_group(const float *input, long height, long width, long channels,
                        long channelBegin, long groupChannels, long kernelH, long kernelW,
                        long strideH, long strideW, long dilationH, long dilationW, long padTop,
                        long padLeft, long outH, long outW, float *output, long rowBegin,
                        long rowEnd) {
  const long cg = groupChannels, rowLen = kernelH * kernelW * cg;
  for (long r = rowBegin; r < rowEnd; r++) {
    long b = r / outH, oy = r % outH;
    const float *image = input + b * height * width * channels + channelBegin;
    float *out = output + r * outW * rowLen;
    long y0 = oy * strideH - padTop;
    for (long ox = 0; ox < outW; ox++) {
      long x0 = ox * strideW - padLeft;
      float *dst = out + ox * rowLen;
      for (long ky = 0; ky < kernelH; ky++) {
        long iy = y0 + ky * dilationH;
        for (long kx = 0; kx < kernelW; kx++, dst += cg) {
          long ix = x0 + kx * dilationW;
          if (iy < 0 || iy >= height || ix < 0 || ix >= width) {
            memset(dst, 0, (size_t)cg * sizeof(float));
          } else {
            memcpy(dst, image + (iy * width + ix) * channels, (size_t)cg * sizeof(float));
          }
        }
      }
    }
  }
}

void fovea_col2im_group(const float *columns, long height, long width, long channels,
                        long channelBegin, long groupChannels, long kernelH, long kernelW,
                        long strideH, long strideW, long dilationH, long dilationW, long padTop,
                        long padLeft, long outH, long outW, float *gradInput, long batchBegin,
                        long batchEnd) {
  const long cg = groupChannels, rowLen = kernelH * kernelW * cg;
  for (long b = batchBegin; b < batchEnd; b++) {
    float *image = gradInput + b * height * width * channels + channelBegin;
    for (long oy = 0; oy < outH; oy++) {
      long y0 = oy * strideH - padTop;
      for (long ox = 0; ox < outW; ox++) {
        long x0 = ox * strideW - padLeft;
        const float *src = columns + ((b * outH + oy) * outW + ox) * rowLen;
        for (long ky = 0; ky < kernelH; ky++) {
          long iy = y0 + ky * dilationH;
          if (iy < 0 || iy >= height) continue;
          for (long kx = 0; kx < kernelW; kx++) {
            long ix = x0 + kx * dilationW;
            if (ix < 0 || ix >= width) continue;
            float *restrict d = image + (iy * width + ix) * channels;
            const float *restrict s = src + (ky * kernelW + kx) * cg;
            for (long c = 0; c < cg; c++) d[c] += s[c];
          }
        }
      }
    }
  }
}
