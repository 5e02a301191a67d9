/* Zero padding, cropping and up-sampling of the two spatial axes, and their gradients: the kernels
 * under Keras's ZeroPadding2D, Cropping2D and UpSampling2D. A tensor is viewed as
 * [outer, H, mid, W, inner] (see the header), so NHWC and NCHW share one code path: NHWC copies
 * runs of `inner` channels, NCHW runs of W cells. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fovea_kernels_elementwise_ops.h"
#include "internal.h"

/* TensorFlow's bilinear weights come from separately rounded float operations: never fuse them. */
#pragma STDC FP_CONTRACT OFF

void fovea_shift_window(const float *src, long srcH, long srcW, float *dst, long dstH, long dstW,
                        long mid, long inner, long offsetY, long offsetX, long rowBegin,
                        long rowEnd) {
  /* Destination columns x0..<x1 come from source columns x − offsetX; the rest are zero. */
  long x0 = FOVEA_MAX(offsetX, 0), x1 = FOVEA_MIN(offsetX + srcW, dstW);
  if (x1 < x0) x1 = x0;
  size_t rowFloats = (size_t)(dstW * inner);
  for (long r = rowBegin; r < rowEnd; r++) {
    long m = r % mid, oy = r / mid, y = oy % dstH, o = oy / dstH;
    float *d = dst + r * dstW * inner;
    long sy = y - offsetY;
    if (sy < 0 || sy >= srcH || x1 == x0) {
      memset(d, 0, rowFloats * sizeof(float));
      continue;
    }
    const float *s = src + ((o * srcH + sy) * mid + m) * srcW * inner;
    memset(d, 0, (size_t)(x0 * inner) * sizeof(float));
    memcpy(d + x0 * inner, s + (x0 - offsetX) * inner, (size_t)((x1 - x0) * inner) * sizeof(float));
    memset(d + x1 * inner, 0, (size_t)((dstW - x1) * inner) * sizeof(float));
  }
}

void fovea_upsample_nearest(const float *src, long height, long width, long mid, long inner,
                            long scaleY, long scaleX, float *dst, long rowBegin, long rowEnd) {
  long outH = height * scaleY, outW = width * scaleX;
  for (long r = rowBegin; r < rowEnd; r++) {
    long m = r % mid, oy = r / mid, y = oy % outH, o = oy / outH;
    const float *s = src + ((o * height + y / scaleY) * mid + m) * width * inner;
    float *d = dst + r * outW * inner;
    if (inner == 1) {
      for (long w = 0; w < width; w++)
        for (long dx = 0; dx < scaleX; dx++) d[w * scaleX + dx] = s[w];
    } else {
      for (long w = 0; w < width; w++)
        for (long dx = 0; dx < scaleX; dx++)
          memcpy(d + (w * scaleX + dx) * inner, s + w * inner, (size_t)inner * sizeof(float));
    }
  }
}

void fovea_upsample_nearest_backward(const float *gradDst, long height, long width, long mid,
                                     long inner, long scaleY, long scaleX, float *gradSrc,
                                     long rowBegin, long rowEnd) {
  long outH = height * scaleY, outW = width * scaleX;
  for (long r = rowBegin; r < rowEnd; r++) {
    long m = r % mid, oh = r / mid, h = oh % height, o = oh / height;
    float *restrict gs = gradSrc + r * width * inner;
    memset(gs, 0, (size_t)(width * inner) * sizeof(float));
    for (long dy = 0; dy < scaleY; dy++) {
      const float *restrict gd = gradDst + ((o * outH + h * scaleY + dy) * mid + m) * outW * inner;
      for (long w = 0; w < width; w++)
        for (long dx = 0; dx < scaleX; dx++) {
          const float *restrict cell = gd + (w * scaleX + dx) * inner;
          float *restrict acc = gs + w * inner;
          for (long i = 0; i < inner; i++) acc[i] += cell[i];
        }
    }
  }
}

/* One output coordinate's source cells and weight (TensorFlow's half-pixel bilinear scaler). */
typedef struct {
  long lower, upper;
  float lerp;
} axis_weight;

static void axis_weights(long in, long out, axis_weight *w) {
  float scale = (float)in / (float)out;
  for (long d = 0; d < out; d++) {
    float c = ((float)d + 0.5f) * scale - 0.5f;
    float f = floorf(c);
    long lower = (long)f, upper = (long)ceilf(c);
    w[d].lower = lower > 0 ? lower : 0;
    w[d].upper = upper < in - 1 ? upper : in - 1;
    w[d].lerp = c - f;
  }
}

int fovea_resize_bilinear(const float *src, long inH, long inW, long mid, long inner, float *dst,
                          long outH, long outW, long rowBegin, long rowEnd) {
  axis_weight *wy = malloc((size_t)(outH + outW) * sizeof(axis_weight));
  if (!wy) return -1;
  axis_weight *wx = wy + outH;
  axis_weights(inH, outH, wy);
  axis_weights(inW, outW, wx);
  for (long r = rowBegin; r < rowEnd; r++) {
    long m = r % mid, oy = r / mid, y = oy % outH, o = oy / outH;
    const float *top = src + ((o * inH + wy[y].lower) * mid + m) * inW * inner;
    const float *bottom = src + ((o * inH + wy[y].upper) * mid + m) * inW * inner;
    float ly = wy[y].lerp;
    float *d = dst + r * outW * inner;
    for (long x = 0; x < outW; x++) {
      const float *tl = top + wx[x].lower * inner, *tr = top + wx[x].upper * inner;
      const float *bl = bottom + wx[x].lower * inner, *br = bottom + wx[x].upper * inner;
      float lx = wx[x].lerp;
      float *restrict out = d + x * inner;
      for (long i = 0; i < inner; i++) {
        float t = tl[i] + (tr[i] - tl[i]) * lx;
        float b = bl[i] + (br[i] - bl[i]) * lx;
        out[i] = t + (b - t) * ly;
      }
    }
  }
  free(wy);
  return 0;
}

int fovea_resize_bilinear_backward(const float *gradDst, long inH, long inW, long mid, long inner,
                                   float *gradSrc, long outH, long outW, long outerBegin,
                                   long outerEnd) {
  axis_weight *wy = malloc((size_t)(outH + outW) * sizeof(axis_weight));
  if (!wy) return -1;
  axis_weight *wx = wy + outH;
  axis_weights(inH, outH, wy);
  axis_weights(inW, outW, wx);
  long slice = inH * mid * inW * inner;
  memset(gradSrc + outerBegin * slice, 0, (size_t)((outerEnd - outerBegin) * slice) * sizeof(float));
  for (long o = outerBegin; o < outerEnd; o++) {
    for (long y = 0; y < outH; y++) {
      float ly = wy[y].lerp, iy = 1.0f - ly;
      for (long m = 0; m < mid; m++) {
        const float *g = gradDst + ((o * outH + y) * mid + m) * outW * inner;
        float *top = gradSrc + ((o * inH + wy[y].lower) * mid + m) * inW * inner;
        float *bottom = gradSrc + ((o * inH + wy[y].upper) * mid + m) * inW * inner;
        for (long x = 0; x < outW; x++) {
          float lx = wx[x].lerp, ix = 1.0f - lx;
          float *tl = top + wx[x].lower * inner, *tr = top + wx[x].upper * inner;
          float *bl = bottom + wx[x].lower * inner, *br = bottom + wx[x].upper * inner;
          const float *gc = g + x * inner;
          for (long i = 0; i < inner; i++) {
            float v = gc[i];
            tl[i] += v * iy * ix;
            tr[i] += v * iy * lx;
            bl[i] += v * ly * ix;
            br[i] += v * ly * lx;
          }
        }
      }
    }
  }
  free(wy);
  return 0;
}
