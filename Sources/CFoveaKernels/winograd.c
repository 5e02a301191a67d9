/* Winograd F(4×4, 3×3) convolution for 3×3, stride-1, undilated layers, NHWC.
 *
 * Each 4×4 block of outputs comes from a 6×6 input tile: the tile and the kernel are transformed
 * (Bᵀ·d·B, G·g·Gᵀ), multiplied elementwise at the 36 positions ξ, and transformed back (Aᵀ·m·A).
 * Over channels, the elementwise products at one ξ are a matrix product, so a block of T tiles
 * costs 36 GEMMs of T×C by C×K: 36 multiplications per 16 outputs instead of 144 (4× fewer), plus
 * the transforms, which are additions over channel vectors. Error is a few units in the 6th digit
 * relative to the im2col path (the transforms' constants are exact in binary, except 1/6, 1/12, 1/24
 * in G). */
#include <string.h>
#include "fovea_kernels.h"
#include "internal.h"

typedef fovea_v8f_u wg_v8;

#define WG_TARGET
#define WG_SUFFIX portable
#include "winograd.inc"
#undef WG_TARGET
#undef WG_SUFFIX

#if FOVEA_X86
#define WG_TARGET __attribute__((target("avx2,fma")))
#define WG_SUFFIX avx2
#include "winograd.inc"
#undef WG_TARGET
#undef WG_SUFFIX
#endif

/* The kernel transform G (6×3). */
static const float WG_G[6][3] = {{0.25f, 0.0f, 0.0f},
                                 {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                 {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                 {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                 {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                 {0.0f, 0.0f, 1.0f}};

/* G·g·Gᵀ for `count` kernels at once: g[y][x] holds kernel (y, x) of all of them, `count` apart;
 * the result for position ξ goes to out[ξ·stride + i·step] for i < count. The loops over the
 * kernels are innermost, so they vectorise. */
static void weight_transform(const float *g, long count, float *out, long stride, long step,
                             float *tmp /* 18·count */) {
  for (int i = 0; i < 6; i++)
    for (int x = 0; x < 3; x++) {
      float *restrict t = tmp + (i * 3 + x) * count;
      const float *restrict g0 = g + x * count, *restrict g1 = g + (3 + x) * count,
                            *restrict g2 = g + (6 + x) * count;
      for (long q = 0; q < count; q++) t[q] = WG_G[i][0] * g0[q] + WG_G[i][1] * g1[q] + WG_G[i][2] * g2[q];
    }
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++) {
      const float *restrict t0 = tmp + (i * 3) * count, *restrict t1 = tmp + (i * 3 + 1) * count,
                            *restrict t2 = tmp + (i * 3 + 2) * count;
      float *restrict o = out + (i * 6 + j) * stride;
      for (long q = 0; q < count; q++) o[q * step] = t0[q] * WG_G[j][0] + t1[q] * WG_G[j][1] + t2[q] * WG_G[j][2];
    }
}

void fovea_winograd_weights(const float *kernel, long channels, long filters, int adjoint,
                            float *u) {
  enum { CHUNK = 64 };
  float g[9 * CHUNK], tmp[18 * CHUNK];
  for (long c = 0; c < channels; c++) {
    for (long k0 = 0; k0 < filters; k0 += CHUNK) {
      long count = FOVEA_MIN(CHUNK, filters - k0);
      for (int yx = 0; yx < 9; yx++) {
        /* The adjoint (input gradient) correlates with the kernel rotated by 180°. */
        long from = adjoint ? 8 - yx : yx;
        memcpy(g + yx * count, kernel + (from * channels + c) * filters + k0, (size_t)count * sizeof(float));
      }
      if (adjoint)
        weight_transform(g, count, u + k0 * channels + c, filters * channels, channels, tmp);
      else
        weight_transform(g, count, u + c * filters + k0, channels * filters, 1, tmp);
    }
  }
}

/* The tile transforms of one instruction set. */
typedef struct {
  void (*input)(const float *, long, long, long, long, long, long, long, long, long, float *);
  void (*output)(const float *, long, long, long, long, long, long, long, const float *, int, int,
                 float *);
  void (*gradient)(const float *, long, long, long, long, long, long, long, float *);
} wg_transforms;

static wg_transforms transforms_for(int path) {
#if FOVEA_X86
  if (path != FOVEA_PATH_PORTABLE && fovea_path_supported(FOVEA_PATH_AVX2))
    return (wg_transforms){input_tiles_avx2, output_tiles_avx2, gradient_tiles_avx2};
#endif
  (void)path;
  return (wg_transforms){input_tiles_portable, output_tiles_portable, gradient_tiles_portable};
}

void fovea_winograd_weight_gradient(int path, const float *input, long height, long width,
                                    long channels, long padTop, long padLeft,
                                    const float *gradOutput, long outH, long outW, long filters,
                                    long tileBegin, long tileEnd, long tileBlock, float *v,
                                    float *m, float *acc, int accumulate) {
  long tilesW = (outW + 3) / 4, tilesPerImage = ((outH + 3) / 4) * tilesW;
  wg_transforms tf = transforms_for(path);
  for (long t0 = tileBegin; t0 < tileEnd; t0 += tileBlock) {
    long count = FOVEA_MIN(tileBlock, tileEnd - t0);
    tf.input(input, height, width, channels, padTop, padLeft, tilesW, tilesPerImage, t0, count, v);
    tf.gradient(gradOutput, filters, outH, outW, tilesW, tilesPerImage, t0, count, m);
    float beta = accumulate || t0 > tileBegin ? 1.0f : 0.0f;
    for (long xi = 0; xi < 36; xi++) {
      fovea_sgemm(path, 1, 0, channels, filters, count, 1.0f, v + xi * channels, 36 * channels,
                  m + xi * filters, 36 * filters, beta, acc + xi * channels * filters, filters,
                  NULL, 0);
    }
  }
}

void fovea_winograd_weight_gradient_finish(const float *acc, long channels, long filters,
                                           float *gradKernel) {
  for (long c = 0; c < channels; c++) {
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        float *restrict out = gradKernel + ((a * 3 + b) * channels + c) * filters;
        for (long k = 0; k < filters; k++) out[k] = 0.0f;
        for (int i = 0; i < 6; i++)
          for (int j = 0; j < 6; j++) {
            float w = WG_G[i][a] * WG_G[j][b];
            if (w == 0.0f) continue;
            const float *restrict in = acc + ((i * 6 + j) * channels + c) * filters;
            for (long k = 0; k < filters; k++) out[k] += w * in[k];
          }
      }
  }
}

long fovea_winograd_packed_floats(int path, long channels, long filters) {
  return 36 * fovea_sgemm_packed_floats(path, filters, channels);
}

void fovea_winograd_pack_weights(int path, const float *kernel, long channels, long filters,
                                 float *u, float *packed) {
  fovea_winograd_weights(kernel, channels, filters, 0, u);
  long each = fovea_sgemm_packed_floats(path, filters, channels);
  for (long xi = 0; xi < 36; xi++)
    fovea_sgemm_pack_b(path, 0, filters, channels, u + xi * channels * filters, filters,
                       packed + xi * each);
}

void fovea_winograd_conv3x3(int path, const float *input, long height, long width, long channels,
                            long padTop, long padLeft, long outH, long outW, const float *u,
                            int packed, long filters, const float *bias, int relu, int pool,
                            float *output, long tileBegin, long tileEnd, long tileBlock, float *v,
                            float *m) {
  long tilesW = (outW + 3) / 4, tilesPerImage = ((outH + 3) / 4) * tilesW;
  long each = packed ? fovea_sgemm_packed_floats(path, filters, channels) : channels * filters;
  wg_transforms tf = transforms_for(path);
  for (long t0 = tileBegin; t0 < tileEnd; t0 += tileBlock) {
    long count = FOVEA_MIN(tileBlock, tileEnd - t0);
    tf.input(input, height, width, channels, padTop, padLeft, tilesW, tilesPerImage, t0, count, v);
    if (packed)
      fovea_sgemm_packed_batch(path, 36, count, filters, channels, v, 36 * channels, channels, u,
                               each, m, 36 * filters, filters);
    else
      for (long xi = 0; xi < 36; xi++)
        fovea_sgemm(path, 0, 0, count, filters, channels, 1.0f, v + xi * channels, 36 * channels,
                    u + xi * each, filters, 0.0f, m + xi * filters, 36 * filters, NULL, 0);
    tf.output(m, filters, outH, outW, tilesW, tilesPerImage, t0, count, bias, relu, pool, output);
  }
}
