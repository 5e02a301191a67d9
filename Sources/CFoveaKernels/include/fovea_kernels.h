/* Fovea's compute kernels: the small C surface under `Fovea.Kernels`.
 *
 * Everything here is single-threaded; Swift splits work into independent sub-problems (row,
 * column, batch or channel ranges) and runs them on its thread pool. Vector code is enabled per
 * function with target attributes and chosen at run time, so no compiler flags are needed. */
#ifndef FOVEA_KERNELS_H
#define FOVEA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set paths (same order as Swift's `KernelPath`). */
enum { FOVEA_PATH_PORTABLE = 0, FOVEA_PATH_AVX2 = 1, FOVEA_PATH_AVX512 = 2 };

/* The best path this CPU (and OS) supports. */
int fovea_detect_path(void);
/* 1 when `path` can run on this CPU. */
int fovea_path_supported(int path);
/* CPU feature names: index 0..<fovea_cpu_feature_count(); has() is 1 when present. */
int fovea_cpu_feature_count(void);
const char *fovea_cpu_feature_name(int index);
int fovea_cpu_feature_has(int index);

/* Micro-kernel tile of a path (rows MR, columns NR): Swift aligns thread splits to these. */
int fovea_gemm_mr(int path);
int fovea_gemm_nr(int path);

/* Runs `repeats` rounds of independent FMA chains on one thread and returns a value that depends on
 * them (so they cannot be optimised away); each round is fovea_fma_flops_per_repeat(path) flops. */
float fovea_fma_chains(int path, long repeats);
long fovea_fma_flops_per_repeat(int path);

/* Atomically returns *counter and increments it (work distribution among threads). */
long fovea_fetch_increment(long *counter);

/* Row-major C[m×n] = alpha·op(A)·op(B) + beta·C, then C[i][j] += bias[j] (bias may be NULL), then
 * ReLU when relu != 0. op(A) is A (m×k, lda ≥ k) or, with transA, Aᵀ where A is stored k×m
 * (lda ≥ m); likewise B (k×n, or n×k with transB). beta == 0 never reads C. Single-threaded. */
void fovea_sgemm(int path, int transA, int transB, long m, long n, long k, float alpha,
                 const float *a, long lda, const float *b, long ldb, float beta, float *c,
                 long ldc, const float *bias, int relu);

/* B packed ahead of time, for a matrix that is the B of many products (a layer's weights in
 * inference): fovea_sgemm_pack_b stores op(B) (k×n, or n×k stored with transB) in the layout of
 * `path`'s GEMM, in fovea_sgemm_packed_floats(path, n, k) floats (64-byte aligned is best), and
 * fovea_sgemm_packed computes the same C as fovea_sgemm with that B (the same path, n and k). */
long fovea_sgemm_packed_floats(int path, long n, long k);
void fovea_sgemm_pack_b(int path, int transB, long n, long k, const float *b, long ldb,
                        float *packed);
void fovea_sgemm_packed(int path, int transA, long m, long n, long k, float alpha, const float *a,
                        long lda, const float *packed, float beta, float *c, long ldc,
                        const float *bias, int relu);

/* `count` products with B packed ahead of time: C_x = A_x·B_x for x < count, where A_x (m×k,
 * row-major, rows lda apart) starts at a + x·stride_a, B_x (k×n, packed by fovea_sgemm_pack_b for
 * `path`) at packed + x·stride_b and C_x at c + x·stride_c (rows ldc apart); each C_x is exactly what
 * fovea_sgemm_packed(path, 0, m, n, k, 1, A_x, lda, B_x, 0, C_x, ldc, NULL, 0) writes. */
void fovea_sgemm_packed_batch(int path, long count, long m, long n, long k, const float *a,
                              long lda, long stride_a, const float *packed, long stride_b, float *c,
                              long ldc, long stride_c);

/* NHWC im2col for the (image, output row) pairs rowBegin..<rowEnd (pair index b·outH + oy).
 * Output row (b, oy, ox) has kh·kw·c entries ordered (ky, kx, channel); padding cells are 0. */
void fovea_im2col(const float *input, long height, long width, long channels, long kernelH,
                  long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                  long padTop, long padLeft, long outH, long outW, float *output, long rowBegin,
                  long rowEnd);

/* Adjoint of im2col: accumulates columns into gradInput for images batchBegin..<batchEnd and
 * channels channelBegin..<channelEnd (disjoint ranges never touch the same memory). */
void fovea_col2im(const float *columns, long height, long width, long channels, long kernelH,
                  long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                  long padTop, long padLeft, long outH, long outW, float *gradInput,
                  long batchBegin, long batchEnd, long channelBegin, long channelEnd);

/* Winograd F(4×4, 3×3) weights: u[ξ][c][k] (36·channels·filters floats) from a [3][3][c][k]
 * kernel; with adjoint != 0, the weights of the input-gradient convolution instead (kernel
 * rotated 180°, channels and filters swapped): u[ξ][k][c]. */
void fovea_winograd_weights(const float *kernel, long channels, long filters, int adjoint,
                            float *u);

/* The forward Winograd weights packed for `path`'s GEMM once, for a layer used many times: the
 * 36 matrices u[ξ] each packed by fovea_sgemm_pack_b, fovea_winograd_packed_floats(path, channels,
 * filters) floats in all. u is scratch of 36·channels·filters floats. */
long fovea_winograd_packed_floats(int path, long channels, long filters);
void fovea_winograd_pack_weights(int path, const float *kernel, long channels, long filters,
                                 float *u, float *packed);

/* 3×3, stride-1, undilated NHWC convolution by Winograd F(4×4, 3×3), + bias (may be NULL) and
 * ReLU, for output tiles tileBegin..<tileEnd, where tile index = image·tilesPerImage + tile row ·
 * ⌈outW/4⌉ + tile column and tilesPerImage = ⌈outH/4⌉·⌈outW/4⌉ (disjoint tile ranges write disjoint
 * outputs). input and output point at image 0; cells outside the input (padding) are zero. u holds
 * fovea_winograd_weights (packed == 0) or fovea_winograd_pack_weights for this path (packed != 0).
 * With pool != 0, output is instead the 2×2, stride-2 `valid` max pool of the result
 * ([⌊outH/2⌋, ⌊outW/2⌋, filters] per image). Tiles are processed tileBlock at a time through v
 * (36·tileBlock·channels floats) and m (36·tileBlock·filters). */
void fovea_winograd_conv3x3(int path, const float *input, long height, long width, long channels,
                            long padTop, long padLeft, long outH, long outW, const float *u,
                            int packed, long filters, const float *bias, int relu, int pool,
                            float *output, long tileBegin, long tileEnd, long tileBlock, float *v,
                            float *m);

/* The weight gradient of fovea_winograd_conv3x3 (forward form) in the Winograd domain, for output
 * tiles tileBegin..<tileEnd: acc[ξ][c][k] = Σ_t (Bᵀ·x_t·B)[ξ][c] · (A·dY_t·Aᵀ)[ξ][k], added to acc
 * when accumulate != 0 or after the first block (else acc is overwritten). v and m as for the
 * convolution (36·tileBlock·channels and 36·tileBlock·filters floats). */
void fovea_winograd_weight_gradient(int path, const float *input, long height, long width,
                                    long channels, long padTop, long padLeft,
                                    const float *gradOutput, long outH, long outW, long filters,
                                    long tileBegin, long tileEnd, long tileBlock, float *v,
                                    float *m, float *acc, int accumulate);
/* gradKernel[3][3][c][k] = Gᵀ·acc[·][·][c][k]·G: the kernel gradient from the accumulated acc. */
void fovea_winograd_weight_gradient_finish(const float *acc, long channels, long filters,
                                           float *gradKernel);

/* NHWC max pooling for (image, output row) pairs rowBegin..<rowEnd. argmax may be NULL; otherwise
 * it receives the flat input index of each winner (first maximum in scan order). */
void fovea_maxpool2d(const float *input, long height, long width, long channels, long poolH,
                     long poolW, long strideH, long strideW, long padTop, long padLeft, long outH,
                     long outW, float *output, int32_t *argmax, long rowBegin, long rowEnd);

/* Per-thread scratch buffers (64-byte aligned) for layout transforms such as im2col columns,
 * grown on demand and kept for the thread's life, so that steady-state training allocates (and
 * page-faults) nothing. Each slot is one buffer; a caller owns a slot until it returns, and must not
 * use the same slot twice at once on one thread. NULL if allocation fails or slot is out of range. */
#define FOVEA_SCRATCH_SLOTS 5
float *fovea_scratch(size_t floats, int slot);

/* result[i] = output[i] > 0 ? gradient[i] : 0 (the backward of a fused ReLU, from its output). */
void fovea_relu_gate(const float *gradient, const float *output, float *result, long count);

/* base[0..<size] += the slices base[s·size..<(s+1)·size] for s in 1..<slices: per-thread partial
 * sums (weight gradients) folded into the first. */
void fovea_sum_slices(float *base, long slices, long size);

/* sums[j] = Σ_i x[i·columns + j]: a bias gradient over all rows of a row-major [rows, columns]. */
void fovea_column_sums(const float *x, long rows, long columns, float *sums);

/* The kernel and bias gradients of a one-input-channel NHWC convolution (a first layer), fused
 * with its ReLU gate: for the (image, output row) pairs rowBegin..<rowEnd, with dz = gradient, or
 * gradient where output > 0 when output is not NULL, adds Σ x(ky, kx)·dz[k] to
 * gradKernel[(ky·kernelW + kx)·filters + k] and Σ dz[k] to gradBias[k] (gradBias may be NULL).
 * One pass over the output gradient instead of a gate pass, a bias pass and a 9-row GEMM.
 * Returns 0, or -1 (nothing added) if a row's patch buffer cannot be allocated. */
int fovea_conv1_backward(const float *input, long height, long width, long kernelH,
                          long kernelW, long strideH, long strideW, long dilationH,
                          long dilationW, long padTop, long padLeft, long outH, long outW,
                          const float *gradient, const float *output, long filters,
                          float *gradKernel, float *gradBias, long rowBegin, long rowEnd);

/* The forward pass of a one-input-channel NHWC convolution (a first layer), direct: for the
 * (image, output row) pairs rowBegin..<rowEnd, output[b][oy][ox][k] = bias[k] (bias may be NULL)
 * + Σ x(ky, kx)·kernel[(ky·kernelW + kx)·filters + k], then ReLU when relu != 0. With pool != 0
 * the rows are instead pooled rows (b·(outH/2) + py) of a 2×2, stride-2 `valid` max pool of that
 * output, written as [outH/2][outW/2][filters] per image, and, when argmax is not NULL, which
 * cell of each window won (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right; the first of
 * equal values in that order, as the max pool's own argmax), one byte per output value.
 * 3×3 kernels have AVX2 loops (32 and 8 filters at a time; pooled without argmax, 16 filters at a
 * time in registers: max first, then bias and ReLU, the same values for finite inputs); everything
 * else is plain C.
 * Returns 0, or -1 (nothing written) if a row buffer cannot be allocated. */
int fovea_conv1_forward(int path, const float *input, long height, long width, long kernelH,
                        long kernelW, long strideH, long strideW, long dilationH, long dilationW,
                        long padTop, long padLeft, long outH, long outW, const float *kernel,
                        long filters, const float *bias, int relu, int pool, float *output,
                        uint8_t *argmax, long rowBegin, long rowEnd);

/* The kernel and bias gradients of that convolution fused with its 2×2 max pool (and ReLU), from
 * the pooled gradient: for pooled rows rowBegin..<rowEnd (b·(outH/2) + py), each pooled gradient
 * goes to the window cell `argmax` names (as fovea_conv1_forward wrote it), gated by pooled > 0
 * when pooled is not NULL, and adds there as fovea_conv1_backward does. The full convolution
 * gradient is never formed. Returns 0, or -1 (nothing added) if a patch buffer cannot be
 * allocated. */
int fovea_conv1_pool_backward(const float *input, long height, long width, long kernelH,
                               long kernelW, long strideH, long strideW, long dilationH,
                               long dilationW, long padTop, long padLeft, long outH, long outW,
                               const float *gradient, const float *pooled, const uint8_t *argmax,
                               long filters, float *gradKernel, float *gradBias, long rowBegin,
                               long rowEnd);

/* gradInput[argmax[i]] += gradOutput[i] for i in begin..<end. */
void fovea_maxpool2d_backward(const float *gradOutput, const int32_t *argmax, float *gradInput,
                              long begin, long end);

/* NHWC average pooling over real (non-padding) cells, for pairs rowBegin..<rowEnd. */
void fovea_avgpool2d(const float *input, long height, long width, long channels, long poolH,
                     long poolW, long strideH, long strideW, long padTop, long padLeft, long outH,
                     long outW, float *output, long rowBegin, long rowEnd);

/* Backward of average pooling for images batchBegin..<batchEnd, channels channelBegin..<channelEnd. */
void fovea_avgpool2d_backward(const float *gradOutput, long height, long width, long channels,
                              long poolH, long poolW, long strideH, long strideW, long padTop,
                              long padLeft, long outH, long outW, float *gradInput,
                              long batchBegin, long batchEnd, long channelBegin, long channelEnd);

#ifdef __cplusplus
}
#endif
#endif
