/* NHWC max and average pooling, forward and backward. Vectorised over the channel runs. */
#include "fovea_kernels.h"
#include "internal.h"
#include <string.h>

/* Real (non-padding) window taps: first and one-past-last offset in 0..<pool. */
static inline void window(long origin, long pool, long size, long *first, long *end) {
  long lo = origin < 0 ? -origin : 0, hi = FOVEA_MIN(pool, size - origin);
  *first = lo;
  *end = hi > lo ? hi : lo;
}

void fovea_maxpool2d(const float *input, long height, long width, long channels, long poolH,
                     long poolW, long strideH, long strideW, long padTop, long padLeft, long outH,
                     long outW, float *output, int32_t *argmax, long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    long b = r / outH, oy = r % outH;
    long imageBase = b * height * width * channels;
    const float *image = input + imageBase;
    long y0 = oy * strideH - padTop, ky0, ky1;
    window(y0, poolH, height, &ky0, &ky1);
    for (long ox = 0; ox < outW; ox++) {
      long x0 = ox * strideW - padLeft, kx0, kx1;
      window(x0, poolW, width, &kx0, &kx1);
      long o = (r * outW + ox) * channels;
      float *restrict out = output + o;
      int32_t *restrict arg = argmax ? argmax + o : NULL;
      if (ky0 >= ky1 || kx0 >= kx1) { /* no real cell: impossible with Keras padding */
        for (long ch = 0; ch < channels; ch++) out[ch] = 0.0f;
        if (arg) for (long ch = 0; ch < channels; ch++) arg[ch] = -1;
        continue;
      }
      int first = 1;
      for (long ky = ky0; ky < ky1; ky++) {
        for (long kx = kx0; kx < kx1; kx++) {
          long cell = ((y0 + ky) * width + (x0 + kx)) * channels;
          const float *restrict src = image + cell;
          if (first) {
            memcpy(out, src, (size_t)channels * sizeof(float));
            if (arg) for (long ch = 0; ch < channels; ch++) arg[ch] = (int32_t)(imageBase + cell + ch);
            first = 0;
          } else if (arg) {
            int32_t base = (int32_t)(imageBase + cell);
            long ch = 0;
            /* Branch-free compare-and-select in vector registers: a data-dependent branch per
             * channel mispredicts about half the time and made this loop 10x slower. */
            for (; ch + 8 <= channels; ch += 8) {
              fovea_v8f s = *(const fovea_v8f_u *)(src + ch), m = *(const fovea_v8f_u *)(out + ch);
              fovea_v8i better = s > m;
              fovea_v8i idx = (fovea_v8i){0, 1, 2, 3, 4, 5, 6, 7} + (base + (int32_t)ch);
              fovea_v8i a = *(const fovea_v8i_u *)(arg + ch);
              *(fovea_v8f_u *)(out + ch) = (fovea_v8f)(((fovea_v8i)s & better) | ((fovea_v8i)m & ~better));
              *(fovea_v8i_u *)(arg + ch) = (idx & better) | (a & ~better);
            }
            for (; ch < channels; ch++) {
              int better = src[ch] > out[ch];
              out[ch] = better ? src[ch] : out[ch];
              arg[ch] = better ? base + (int32_t)ch : arg[ch];
            }
          } else {
            for (long ch = 0; ch < channels; ch++) out[ch] = src[ch] > out[ch] ? src[ch] : out[ch];
          }
        }
      }
    }
  }
}

void fovea_maxpool2d_backward(const float *gradOutput, const int32_t *argmax, float *gradInput,
                              long begin, long end) {
  for (long i = begin; i < end; i++) {
    int32_t at = argmax[i];
    if (at >= 0) gradInput[at] += gradOutput[i];
  }
}

void fovea_avgpool2d(const float *input, long height, long width, long channels, long poolH,
                     long poolW, long strideH, long strideW, long padTop, long padLeft, long outH,
                     long outW, float *output, long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    long b = r / outH, oy = r % outH;
    const float *image = input + b * height * width * channels;
    long y0 = oy * strideH - padTop, ky0, ky1;
    window(y0, poolH, height, &ky0, &ky1);
    for (long ox = 0; ox < outW; ox++) {
      long x0 = ox * strideW - padLeft, kx0, kx1;
      window(x0, poolW, width, &kx0, &kx1);
      float *restrict out = output + (r * outW + ox) * channels;
      for (long ch = 0; ch < channels; ch++) out[ch] = 0.0f;
      long count = (ky1 - ky0) * (kx1 - kx0);
      if (count == 0) continue;
      for (long ky = ky0; ky < ky1; ky++)
        for (long kx = kx0; kx < kx1; kx++) {
          const float *restrict src = image + ((y0 + ky) * width + (x0 + kx)) * channels;
          for (long ch = 0; ch < channels; ch++) out[ch] += src[ch];
        }
      float n = (float)count;
      for (long ch = 0; ch < channels; ch++) out[ch] /= n;
    }
  }
}

void fovea_avgpool2d_backward(const float *gradOutput, long height, long width, long channels,
                              long poolH, long poolW, long strideH, long strideW, long padTop,
                              long padLeft, long outH, long outW, float *gradInput,
                              long batchBegin, long batchEnd, long channelBegin, long channelEnd) {
  long span = channelEnd - channelBegin;
  if (span <= 0) return;
  for (long b = batchBegin; b < batchEnd; b++) {
    float *image = gradInput + b * height * width * channels + channelBegin;
    for (long oy = 0; oy < outH; oy++) {
      long y0 = oy * strideH - padTop, ky0, ky1;
      window(y0, poolH, height, &ky0, &ky1);
      for (long ox = 0; ox < outW; ox++) {
        long x0 = ox * strideW - padLeft, kx0, kx1;
        window(x0, poolW, width, &kx0, &kx1);
        long count = (ky1 - ky0) * (kx1 - kx0);
        if (count == 0) continue;
        float scale = 1.0f / (float)count;
        const float *restrict g = gradOutput + ((b * outH + oy) * outW + ox) * channels + channelBegin;
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++) {
            float *restrict d = image + ((y0 + ky) * width + (x0 + kx)) * channels;
            for (long ch = 0; ch < span; ch++) d[ch] += g[ch] * scale;
          }
      }
    }
  }
}
