/* Kernels of the convolution family beyond plain conv2D: batch normalization, depthwise,
 * grouped and (through im2col/col2im and GEMM) transposed convolutions. NHWC throughout.
 *
 * As in fovea_kernels.h: everything here is single-threaded and works on a caller-chosen range
 * (rows, channels, images), so Swift can split a job over its thread pool. Every function computes
 * each output element with the same operations in the same order whatever the range it is called
 * with, so a split never changes a result, provided channel ranges start at multiples of 16. */
#ifndef FOVEA_KERNELS_CONV_FAMILY_H
#define FOVEA_KERNELS_CONV_FAMILY_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Batch normalization over a row-major [rows, channels] array (channels last). ---- */

/* For channels channelBegin..<channelEnd, over rows rowBegin..<rowEnd (`path` a FOVEA_PATH_* value
 * the CPU supports; the paths round differently):
 * sum[c] = Σ (x − shift[c]) and sumSquares[c] = Σ (x − shift[c])², in double (overwritten, not added
 * to). Shifting by a value near the mean (a sample of the channel) keeps
 * Σ(x − shift)² − (Σ(x − shift))²/n free of cancellation. */
void fovea_bn_moments(int path, const float *x, long channels, const float *shift, long rowBegin,
                      long rowEnd, long channelBegin, long channelEnd, double *sum,
                      double *sumSquares);

/* The sums the batch-norm gradients need: sumGrad[c] = Σ dy and sumGradCentered[c] =
 * Σ dy·(x − mean[c]), over the same ranges, in double (overwritten), where mean[c] = meanHigh[c] +
 * meanLow[c] (meanLow may be NULL) in double: the caller's scratch of `channels` doubles. */
void fovea_bn_backward_sums(int path, const float *gradOutput, const float *x, long channels,
                            const float *meanHigh, const float *meanLow, long rowBegin,
                            long rowEnd, long channelBegin, long channelEnd, double *sumGrad,
                            double *sumGradCentered, double *mean);

/* y = ((x − meanHigh[c]) − meanLow[c])·scale[c] + beta[c] (beta may be NULL: no addition) for rows
 * rowBegin..<rowEnd: a batch normalization, centred first, with the mean carried in two floats
 * (meanHigh + meanLow) so that its rounding is not shared by a whole channel. y may be x. */
void fovea_bn_normalize(const float *x, long channels, const float *meanHigh,
                        const float *meanLow, const float *scale, const float *beta, float *y,
                        long rowBegin, long rowEnd);

/* y = x·scale[c] + shift[c] (shift may be NULL: no addition) for rows rowBegin..<rowEnd. y may be x. */
void fovea_channel_affine(const float *x, long channels, const float *scale, const float *shift,
                          float *y, long rowBegin, long rowEnd);

/* gradInput = gradOutput·a[c] + (x − mean[c])·b[c] + d[c] for rows rowBegin..<rowEnd: the input
 * gradient of a training-mode batch normalization once its per-channel coefficients are known. */
void fovea_bn_input_gradient(const float *gradOutput, const float *x, long channels,
                             const float *mean, const float *a, const float *b, const float *d,
                             float *gradInput, long rowBegin, long rowEnd);

/* ---- Depthwise convolution, channel multiplier 1 ([kernelH, kernelW, channels] kernel). ----
 * Window geometry as fovea_im2col: output (oy, ox), tap (ky, kx) reads input cell
 * (oy·strideH − padTop + ky·dilationH, ox·strideW − padLeft + kx·dilationW); cells outside the input
 * are 0. `path` is a FOVEA_PATH_* value the CPU supports. Channels are vectorised (16 at a time on
 * AVX-512, 8 otherwise; the rest one by one). */

/* output[b][oy][ox][c] = bias[c] (bias may be NULL) + Σ_taps x·kernel[ky][kx][c], for the
 * (image, output row) pairs rowBegin..<rowEnd (pair b·outH + oy). */
void fovea_depthwise_forward(int path, const float *input, long height, long width,
                             long channels, long kernelH, long kernelW, long strideH, long strideW,
                             long dilationH, long dilationW, long padTop, long padLeft, long outH,
                             long outW, const float *kernel, const float *bias, float *output,
                             long rowBegin, long rowEnd);

/* The input gradient, gathered: gradInput[b][iy][ix][c] = Σ gradOutput[b][oy][ox][c]·kernel[ky][kx][c]
 * over the (output, tap) pairs that read (iy, ix), written (not added) for the (image, input row)
 * pairs rowBegin..<rowEnd (pair b·height + iy). */
void fovea_depthwise_backward_input(int path, const float *gradOutput, long height, long width,
                                    long channels, long kernelH, long kernelW, long strideH,
                                    long strideW, long dilationH, long dilationW, long padTop,
                                    long padLeft, long outH, long outW, const float *kernel,
                                    float *gradInput, long rowBegin, long rowEnd);

/* The kernel gradient: adds Σ x·gradOutput over the (image, output row) pairs rowBegin..<rowEnd to
 * gradKernel[ky][kx][c] (kernelH·kernelW·channels floats) for channels channelBegin..<channelEnd. */
void fovea_depthwise_backward_kernel(int path, const float *input, long height, long width,
                                     long channels, long kernelH, long kernelW, long strideH,
                                     long strideW, long dilationH, long dilationW, long padTop,
                                     long padLeft, long outH, long outW, const float *gradOutput,
                                     float *gradKernel, long rowBegin, long rowEnd,
                                     long channelBegin, long channelEnd);

/* A channel multiplier M > 1 runs as multiplier 1 on channels·M channels:
 * expand: out[p][c·M + m] = x[p][c]; contract: out[p][c] = Σ_m x[p][c·M + m] (m in order),
 * for pixels pixelBegin..<pixelEnd. */
void fovea_depthwise_expand(const float *x, long channels, long multiplier, float *out,
                            long pixelBegin, long pixelEnd);
void fovea_depthwise_contract(const float *x, long channels, long multiplier, float *out,
                              long pixelBegin, long pixelEnd);

/* ---- Grouped convolution: im2col and col2im of one group's channels. ---- */

/* fovea_im2col over channels channelBegin..<channelBegin + groupChannels of a `channels`-channel
 * NHWC input: rows of kernelH·kernelW·groupChannels entries ordered (ky, kx, channel), for the
 * (image, output row) pairs rowBegin..<rowEnd. */
void fovea_im2col_group(const float *input, long height, long width, long channels,
                        long channelBegin, long groupChannels, long kernelH, long kernelW,
                        long strideH, long strideW, long dilationH, long dilationW, long padTop,
                        long padLeft, long outH, long outW, float *output, long rowBegin,
                        long rowEnd);

/* Its adjoint: accumulates such columns into those channels of gradInput, for images
 * batchBegin..<batchEnd (columns point at image 0's first row). */
void fovea_col2im_group(const float *columns, long height, long width, long channels,
                        long channelBegin, long groupChannels, long kernelH, long kernelW,
                        long strideH, long strideW, long dilationH, long dilationW, long padTop,
                        long padLeft, long outH, long outW, float *gradInput, long batchBegin,
                        long batchEnd);

#ifdef __cplusplus
}
#endif
#endif
