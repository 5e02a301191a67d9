/* The forward pass of a one-input-channel NHWC convolution (a network's first layer on grey
 * images), computed directly: im2col + GEMM spends most of its time writing 9-float rows and
 * storing the GEMM's output tiles for a product with k = 9, and a 2×2 max pool after it reads the
 * whole output back. Here each output row is computed from its input rows, copied zero-padded
 * into a small buffer, with bias and ReLU applied in registers, and optionally pooled before it
 * leaves the cache. */
#include <stdlib.h>
#include <string.h>
#include "fovea_kernels.h"
#include "internal.h"

#if FOVEA_X86
#include <immintrin.h>

/* The input cell of tap (ky, kx) for output column ox, in the padded row buffer. */
#define FOVEA_CELL(rows, ky, kx, ox) ((rows)[ky] + (ox) * strideW + (kx) * dilationW)

/* Bias, ReLU and store of one pixel's 4 accumulators (filters k0..<k0+32). */
#define FOVEA_STORE4(o, a0, a1, a2, a3)                                            \
  do {                                                                             \
    a0 = _mm256_add_ps(a0, b0); a1 = _mm256_add_ps(a1, b1);                        \
    a2 = _mm256_add_ps(a2, b2); a3 = _mm256_add_ps(a3, b3);                        \
    if (relu) {                                                                    \
      a0 = _mm256_max_ps(a0, zero); a1 = _mm256_max_ps(a1, zero);                  \
      a2 = _mm256_max_ps(a2, zero); a3 = _mm256_max_ps(a3, zero);                  \
    }                                                                              \
    _mm256_storeu_ps((o), a0); _mm256_storeu_ps((o) + 8, a1);                      \
    _mm256_storeu_ps((o) + 16, a2); _mm256_storeu_ps((o) + 24, a3);                \
  } while (0)

/* 3×3 taps, filters k0..<k0+32 of one output row, two pixels at a time: 8 independent accumulators
 * (enough to hide the FMA latency on two FMA pipes), the tap's 4 weight vectors loaded once for
 * both pixels and each input cell broadcast once for 4 FMAs: 13 of the 16 vector registers, so
 * nothing spills. Taps are summed in order and the bias added last, as the GEMM path does. */
__attribute__((target("avx2,fma"))) static void row_3x3_32_avx2(
    const float *const rows[3], long strideW, long dilationW, long outW, const float *kernel,
    long filters, const float *bias, int relu, float *out, long k0) {
  __m256 zero = _mm256_setzero_ps();
  __m256 b0 = zero, b1 = zero, b2 = zero, b3 = zero;
  if (bias) {
    b0 = _mm256_loadu_ps(bias + k0); b1 = _mm256_loadu_ps(bias + k0 + 8);
    b2 = _mm256_loadu_ps(bias + k0 + 16); b3 = _mm256_loadu_ps(bias + k0 + 24);
  }
  long ox = 0;
  for (; ox + 2 <= outW; ox += 2) {
    __m256 a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero, c2 = zero, c3 = zero;
    for (int ky = 0; ky < 3; ky++) {
      for (int kx = 0; kx < 3; kx++) {
        const float *w = kernel + (ky * 3 + kx) * filters + k0;
        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16),
               w3 = _mm256_loadu_ps(w + 24);
        __m256 x = _mm256_broadcast_ss(FOVEA_CELL(rows, ky, kx, ox));
        a0 = _mm256_fmadd_ps(x, w0, a0); a1 = _mm256_fmadd_ps(x, w1, a1);
        a2 = _mm256_fmadd_ps(x, w2, a2); a3 = _mm256_fmadd_ps(x, w3, a3);
        x = _mm256_broadcast_ss(FOVEA_CELL(rows, ky, kx, ox + 1));
        c0 = _mm256_fmadd_ps(x, w0, c0); c1 = _mm256_fmadd_ps(x, w1, c1);
        c2 = _mm256_fmadd_ps(x, w2, c2); c3 = _mm256_fmadd_ps(x, w3, c3);
      }
    }
    FOVEA_STORE4(out + ox * filters + k0, a0, a1, a2, a3);
    FOVEA_STORE4(out + (ox + 1) * filters + k0, c0, c1, c2, c3);
  }
  if (ox < outW) {
    __m256 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    for (int ky = 0; ky < 3; ky++) {
      for (int kx = 0; kx < 3; kx++) {
        const float *w = kernel + (ky * 3 + kx) * filters + k0;
        __m256 x = _mm256_broadcast_ss(FOVEA_CELL(rows, ky, kx, ox));
        a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w), a0);
        a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8), a1);
        a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 16), a2);
        a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 24), a3);
      }
    }
    FOVEA_STORE4(out + ox * filters + k0, a0, a1, a2, a3);
  }
}
#undef FOVEA_STORE4

/* The same for 8 filters k0..<k0+8 (what is left after the blocks of 32), one pixel at a time. */
__attribute__((target("avx2,fma"))) static void row_3x3_8_avx2(
    const float *const rows[3], long strideW, long dilationW, long outW, const float *kernel,
    long filters, const float *bias, int relu, float *out, long k0) {
  __m256 zero = _mm256_setzero_ps(), b = bias ? _mm256_loadu_ps(bias + k0) : zero;
  for (long ox = 0; ox < outW; ox++) {
    __m256 a = zero;
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++)
        a = _mm256_fmadd_ps(_mm256_broadcast_ss(FOVEA_CELL(rows, ky, kx, ox)),
                            _mm256_loadu_ps(kernel + (ky * 3 + kx) * filters + k0), a);
    a = _mm256_add_ps(a, b);
    if (relu) a = _mm256_max_ps(a, zero);
    _mm256_storeu_ps(out + ox * filters + k0, a);
  }
}

/* The 2×2, stride-2 max pool of two output rows (input rows top[ky], bottom[ky]), filters
 * k0..<k0+16, pooled pixel by pooled pixel: the four cells of a window in 8 accumulators, their
 * maximum, then bias and ReLU (monotonic, so for finite values the same as pooling the biased,
 * rectified cells; a NaN cell can win or lose differently), one store. The output rows are
 * never stored and read back. Taps are summed in the same order as row_3x3_32_avx2. */
__attribute__((target("avx2,fma"))) static void pool_row_3x3_16_avx2(
    const float *const top[3], const float *const bottom[3], long strideW, long dilationW,
    long poolW, const float *kernel, long filters, const float *bias, int relu, float *out,
    long k0) {
  __m256 zero = _mm256_setzero_ps();
  __m256 b0 = bias ? _mm256_loadu_ps(bias + k0) : zero, b1 = bias ? _mm256_loadu_ps(bias + k0 + 8) : zero;
  for (long px = 0; px < poolW; px++) {
    long ox = 2 * px;
    __m256 a0 = zero, a1 = zero, c0 = zero, c1 = zero, d0 = zero, d1 = zero, e0 = zero, e1 = zero;
    for (int ky = 0; ky < 3; ky++) {
      for (int kx = 0; kx < 3; kx++) {
        const float *w = kernel + (ky * 3 + kx) * filters + k0;
        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        __m256 x = _mm256_broadcast_ss(FOVEA_CELL(top, ky, kx, ox));
        a0 = _mm256_fmadd_ps(x, w0, a0); a1 = _mm256_fmadd_ps(x, w1, a1);
        x = _mm256_broadcast_ss(FOVEA_CELL(top, ky, kx, ox + 1));
        c0 = _mm256_fmadd_ps(x, w0, c0); c1 = _mm256_fmadd_ps(x, w1, c1);
        x = _mm256_broadcast_ss(FOVEA_CELL(bottom, ky, kx, ox));
        d0 = _mm256_fmadd_ps(x, w0, d0); d1 = _mm256_fmadd_ps(x, w1, d1);
        x = _mm256_broadcast_ss(FOVEA_CELL(bottom, ky, kx, ox + 1));
        e0 = _mm256_fmadd_ps(x, w0, e0); e1 = _mm256_fmadd_ps(x, w1, e1);
      }
    }
    __m256 m0 = _mm256_add_ps(_mm256_max_ps(_mm256_max_ps(a0, c0), _mm256_max_ps(d0, e0)), b0);
    __m256 m1 = _mm256_add_ps(_mm256_max_ps(_mm256_max_ps(a1, c1), _mm256_max_ps(d1, e1)), b1);
    if (relu) { m0 = _mm256_max_ps(m0, zero); m1 = _mm256_max_ps(m1, zero); }
    _mm256_storeu_ps(out + px * filters + k0, m0);
    _mm256_storeu_ps(out + px * filters + k0 + 8, m1);
  }
}
#undef FOVEA_CELL
#endif

/* Copies the kernelH input rows output row oy reads, zero-padded, into `buffer` (kernelH rows of
 * span floats), so the loops that read them never test bounds; rows[ky] points at the first three. */
static void conv1_padded_rows(const float *image, long height, long width, long kernelH,
                              long strideH, long dilationH, long padTop, long padLeft, long oy,
                              float *buffer, long span, const float *rows[3]) {
  for (long ky = 0; ky < kernelH; ky++) {
    float *row = buffer + ky * span;
    long iy = oy * strideH - padTop + ky * dilationH;
    long first = padLeft < span ? padLeft : span;  /* buffer cell j holds input column j − padLeft */
    long last = width + padLeft < span ? width + padLeft : span;
    if (iy < 0 || iy >= height || last <= first) {
      memset(row, 0, (size_t)span * sizeof(float));
    } else {
      memset(row, 0, (size_t)first * sizeof(float));
      memcpy(row + first, image + iy * width + (first - padLeft), (size_t)(last - first) * sizeof(float));
      memset(row + last, 0, (size_t)(span - last) * sizeof(float));
    }
    if (ky < 3) rows[ky] = row;
  }
}

/* Output row oy of image `image` into out (outW × filters), its input rows padded in `buffer`. */
static void conv1_row(int vector, const float *image, long height, long width, long kernelH,
                      long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                      long padTop, long padLeft, long oy, long outW, const float *kernel,
                      long filters, const float *bias, int relu, float *buffer, long span,
                      float *out) {
  const float *rows[3];
  conv1_padded_rows(image, height, width, kernelH, strideH, dilationH, padTop, padLeft, oy, buffer,
                    span, rows);
  long done = 0;
#if FOVEA_X86
  if (vector) {
    for (; done + 32 <= filters; done += 32)
      row_3x3_32_avx2(rows, strideW, dilationW, outW, kernel, filters, bias, relu, out, done);
    for (; done + 8 <= filters; done += 8)
      row_3x3_8_avx2(rows, strideW, dilationW, outW, kernel, filters, bias, relu, out, done);
  }
#else
  (void)vector; (void)rows;
#endif
  if (done == filters) return;
  /* The filters the vector loops did not take (all of them on the portable path). */
  for (long ox = 0; ox < outW; ox++) {
    float *o = out + ox * filters;
    for (long k = done; k < filters; k++) o[k] = 0.0f;
    for (long ky = 0; ky < kernelH; ky++) {
      for (long kx = 0; kx < kernelW; kx++) {
        const float *w = kernel + (ky * kernelW + kx) * filters;
        float v = buffer[ky * span + ox * strideW + kx * dilationW];
        for (long k = done; k < filters; k++) o[k] += v * w[k];
      }
    }
    if (bias)
      for (long k = done; k < filters; k++) o[k] += bias[k];
    if (relu)
      for (long k = done; k < filters; k++) o[k] = o[k] > 0.0f ? o[k] : 0.0f;
  }
}

/* Eight bytes, one per lane of an fovea_v8i (internal.h). */
typedef uint8_t conv1_v8b __attribute__((vector_size(8), aligned(1)));

/* The 2×2 maxima of two convolution rows (`top`, `bottom`: 2·poolW × filters) into `o` and, in
 * `argmax`, which cell won: the first of equal values in the order top-left, top-right,
 * bottom-left, bottom-right, as fovea_maxpool2d's scan keeps its first maximum. Compare-and-select
 * in vector registers: the winner is a coin toss, and a branch on it mispredicts. */
static void pool_rows_argmax(const float *top, const float *bottom, long poolW, long filters,
                             float *o, uint8_t *argmax) {
  for (long px = 0; px < poolW; px++) {
    const float *cells[4] = {top + 2 * px * filters, top + (2 * px + 1) * filters,
                             bottom + 2 * px * filters, bottom + (2 * px + 1) * filters};
    float *out = o + px * filters;
    uint8_t *arg = argmax + px * filters;
    long k = 0;
    for (; k + 8 <= filters; k += 8) {
      fovea_v8f_u m = *(const fovea_v8f_u *)(cells[0] + k);
      fovea_v8i q = {0};
      for (int c = 1; c < 4; c++) {
        fovea_v8f_u v = *(const fovea_v8f_u *)(cells[c] + k);
        fovea_v8i better = v > m;
        m = (fovea_v8f_u)(((fovea_v8i)v & better) | ((fovea_v8i)m & ~better));
        q = (c & better) | (q & ~better);
      }
      *(fovea_v8f_u *)(out + k) = m;
      *(conv1_v8b *)(arg + k) = __builtin_convertvector(q, conv1_v8b);
    }
    for (; k < filters; k++) {
      float m = cells[0][k];
      uint8_t q = 0;
      for (int c = 1; c < 4; c++)
        if (cells[c][k] > m) { m = cells[c][k]; q = (uint8_t)c; }
      out[k] = m;
      arg[k] = q;
    }
  }
}

int fovea_conv1_forward(int path, const float *input, long height, long width, long kernelH,
                        long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                        long padTop, long padLeft, long outH, long outW, const float *kernel,
                        long filters, const float *bias, int relu, int pool, float *output,
                        uint8_t *argmax, long rowBegin, long rowEnd) {
  int vector = 0;
#if FOVEA_X86
  vector = path != FOVEA_PATH_PORTABLE && kernelH == 3 && kernelW == 3 &&
           fovea_path_supported(FOVEA_PATH_AVX2);
#else
  (void)path;
#endif
  /* Input columns an output row reads, padding included: −padLeft ..< span − padLeft. */
  long span = outW > 0 ? (outW - 1) * strideW + (kernelW - 1) * dilationW + 1 : 1;
  size_t rowFloats = (size_t)(kernelH * span);
  /* Two output rows to pool, or (direct pool) the second set of padded input rows. */
  size_t pooledFloats = pool ? (size_t)FOVEA_MAX(2 * outW * filters, kernelH * span) : 0;
  float *buffer = malloc((rowFloats + pooledFloats) * sizeof(float));
  if (!buffer) return -1;
  if (!pool) {
    for (long r = rowBegin; r < rowEnd; r++) {
      long b = r / outH, oy = r % outH;
      conv1_row(vector, input + b * height * width, height, width, kernelH, kernelW, strideH,
                strideW, dilationH, dilationW, padTop, padLeft, oy, outW, kernel, filters, bias,
                relu, buffer, span, output + r * outW * filters);
    }
  } else {
    /* Rows are pooled rows (b·(outH/2) + py): two convolution rows, then their 2×2 maxima. */
    long poolH = outH / 2, poolW = outW / 2;
    float *top = buffer + rowFloats, *bottom = top + outW * filters;
    /* Inference on the vector path, whole blocks of 16 filters: pooled in registers. The top
     * row's padded inputs go to `buffer`, the bottom row's to the pool buffer (kernelH·span floats
     * fit there: pooledFloats). */
    int direct_pool = vector && !argmax && filters % 16 == 0;
    for (long r = rowBegin; r < rowEnd; r++) {
      long b = r / poolH, py = r % poolH;
      const float *image = input + b * height * width;
      if (direct_pool) {
        const float *topRows[3], *bottomRows[3];
        conv1_padded_rows(image, height, width, kernelH, strideH, dilationH, padTop, padLeft,
                          2 * py, buffer, span, topRows);
        conv1_padded_rows(image, height, width, kernelH, strideH, dilationH, padTop, padLeft,
                          2 * py + 1, top, span, bottomRows);
#if FOVEA_X86
        for (long k0 = 0; k0 < filters; k0 += 16)
          pool_row_3x3_16_avx2(topRows, bottomRows, strideW, dilationW, poolW, kernel, filters, bias,
                               relu, output + r * poolW * filters, k0);
#endif
        continue;
      }
      conv1_row(vector, image, height, width, kernelH, kernelW, strideH, strideW, dilationH,
                dilationW, padTop, padLeft, 2 * py, outW, kernel, filters, bias, relu, buffer, span,
                top);
      conv1_row(vector, image, height, width, kernelH, kernelW, strideH, strideW, dilationH,
                dilationW, padTop, padLeft, 2 * py + 1, outW, kernel, filters, bias, relu, buffer,
                span, bottom);
      float *o = output + r * poolW * filters;
      if (argmax) {
        pool_rows_argmax(top, bottom, poolW, filters, o, argmax + r * poolW * filters);
        continue;
      }
      for (long px = 0; px < poolW; px++) {
        const float *a = top + 2 * px * filters, *c = bottom + 2 * px * filters;
        for (long k = 0; k < filters; k++) {
          float m0 = a[k] > a[k + filters] ? a[k] : a[k + filters];
          float m1 = c[k] > c[k + filters] ? c[k] : c[k + filters];
          o[px * filters + k] = m0 > m1 ? m0 : m1;
        }
      }
    }
  }
  free(buffer);
  return 0;
}
