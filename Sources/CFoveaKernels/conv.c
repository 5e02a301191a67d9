/* NHWC im2col / col2im. Plain C: the inner loops are contiguous channel runs that the compiler
 * turns into vector copies and adds for the build's baseline ISA. */
#include "fovea_kernels.h"
#include "internal.h"
#include <string.h>

/* First and one-past-last tap t in 0..<taps with 0 ≤ origin + t·dilation < size. */
static inline void valid_taps(long origin, long dilation, long taps, long size, long *first,
                              long *end) {
  long lo = 0, hi = taps;
  if (origin < 0) lo = (-origin + dilation - 1) / dilation;
  if (origin + (taps - 1) * dilation >= size) {
    hi = origin < size ? (size - 1 - origin) / dilation + 1 : 0;
  }
  if (hi < lo) hi = lo;
  *first = FOVEA_MIN(lo, taps);
  *end = FOVEA_MIN(hi, taps);
}

/* Copies n floats. A first layer's rows are a few floats each, and a call to memcpy per row cost
 * more than the copy (a plain loop is no help: the compiler turns it back into that call), so
 * short runs are moved in fixed-size pieces that compile to plain loads and stores. */
static inline void copy_floats(float *restrict d, const float *restrict s, long n) {
  if (n >= 16) {
    memcpy(d, s, (size_t)n * sizeof(float));
    return;
  }
  if (n & 8) { __builtin_memcpy(d, s, 32); d += 8; s += 8; }
  if (n & 4) { __builtin_memcpy(d, s, 16); d += 4; s += 4; }
  if (n & 2) { __builtin_memcpy(d, s, 8); d += 2; s += 2; }
  if (n & 1) d[0] = s[0];
}

void fovea_im2col(const float *input, long height, long width, long channels, long kernelH,
                  long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                  long padTop, long padLeft, long outH, long outW, float *output, long rowBegin,
                  long rowEnd) {
  const long rowLen = kernelH * kernelW * channels;
  const long tapRow = kernelW * channels;
  if (channels == 1 && strideW == 1 && dilationW == 1 && padLeft == 0 && outW - 1 + kernelW <= width) {
    /* A one-channel first layer whose windows never leave the image sideways: each output row is
     * kernelH shifted copies of image rows, written straight into the strided columns (the general
     * loop below spends more on bookkeeping per 3-float run than on copying). */
    for (long r = rowBegin; r < rowEnd; r++) {
      long b = r / outH, oy = r % outH;
      const float *image = input + b * height * width;
      float *out = output + r * outW * rowLen;
      for (long ky = 0; ky < kernelH; ky++) {
        long iy = oy * strideH - padTop + ky * dilationH;
        float *restrict d = out + ky * kernelW;
        if (iy < 0 || iy >= height) {
          for (long ox = 0; ox < outW; ox++)
            for (long kx = 0; kx < kernelW; kx++) d[ox * rowLen + kx] = 0.0f;
          continue;
        }
        const float *restrict s = image + iy * width;
        if (kernelW == 3) {
          for (long ox = 0; ox < outW; ox++) {
            d[ox * rowLen] = s[ox];
            d[ox * rowLen + 1] = s[ox + 1];
            d[ox * rowLen + 2] = s[ox + 2];
          }
        } else {
          for (long ox = 0; ox < outW; ox++)
            for (long kx = 0; kx < kernelW; kx++) d[ox * rowLen + kx] = s[ox + kx];
        }
      }
    }
    return;
  }
  for (long r = rowBegin; r < rowEnd; r++) {
    long b = r / outH, oy = r % outH;
    const float *image = input + b * height * width * channels;
    float *out = output + r * outW * rowLen;
    long y0 = oy * strideH - padTop;
    for (long ox = 0; ox < outW; ox++) {
      long x0 = ox * strideW - padLeft, kx0, kx1;
      valid_taps(x0, dilationW, kernelW, width, &kx0, &kx1);
      float *dst = out + ox * rowLen;
      for (long ky = 0; ky < kernelH; ky++, dst += tapRow) {
        long iy = y0 + ky * dilationH;
        if (iy < 0 || iy >= height || kx0 >= kx1) {
          memset(dst, 0, (size_t)tapRow * sizeof(float));
          continue;
        }
        const float *src = image + (iy * width + x0) * channels;
        if (kx0 > 0) memset(dst, 0, (size_t)(kx0 * channels) * sizeof(float));
        if (dilationW == 1) { /* the taps of a row are one contiguous run of the image */
          copy_floats(dst + kx0 * channels, src + kx0 * channels, (kx1 - kx0) * channels);
        } else {
          for (long kx = kx0; kx < kx1; kx++) {
            const float *s = src + kx * dilationW * channels;
            float *d = dst + kx * channels;
            for (long ch = 0; ch < channels; ch++) d[ch] = s[ch];
          }
        }
        if (kx1 < kernelW)
          memset(dst + kx1 * channels, 0, (size_t)((kernelW - kx1) * channels) * sizeof(float));
      }
    }
  }
}

void fovea_col2im(const float *columns, long height, long width, long channels, long kernelH,
                  long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                  long padTop, long padLeft, long outH, long outW, float *gradInput,
                  long batchBegin, long batchEnd, long channelBegin, long channelEnd) {
  const long rowLen = kernelH * kernelW * channels;
  const long span = channelEnd - channelBegin;
  if (span <= 0) return;
  for (long b = batchBegin; b < batchEnd; b++) {
    float *image = gradInput + b * height * width * channels + channelBegin;
    for (long oy = 0; oy < outH; oy++) {
      long y0 = oy * strideH - padTop, ky0, ky1;
      valid_taps(y0, dilationH, kernelH, height, &ky0, &ky1);
      for (long ox = 0; ox < outW; ox++) {
        long x0 = ox * strideW - padLeft, kx0, kx1;
        valid_taps(x0, dilationW, kernelW, width, &kx0, &kx1);
        const float *src = columns + ((b * outH + oy) * outW + ox) * rowLen + channelBegin;
        for (long ky = ky0; ky < ky1; ky++) {
          long iy = y0 + ky * dilationH;
          for (long kx = kx0; kx < kx1; kx++) {
            long ix = x0 + kx * dilationW;
            float *restrict d = image + (iy * width + ix) * channels;
            const float *restrict s = src + (ky * kernelW + kx) * channels;
            for (long ch = 0; ch < span; ch++) d[ch] += s[ch];
          }
        }
      }
    }
  }
}
