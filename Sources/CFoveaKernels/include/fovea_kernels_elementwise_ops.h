/* Merges, concatenation, spatial padding/cropping/resampling and activations: the kernels under
 * Keras's merge, reshaping and activation layers. Raw pointers and sizes in, numbers out; every
 * function is single-threaded and works on a range (elements, rows or slices) so that Swift can
 * split a call over its pool. Where Keras (TensorFlow backend) defines the numbers, the kernels
 * compute them with the same float operations in the same order. */
#ifndef FOVEA_KERNELS_ELEMENTWISE_OPS_H
#define FOVEA_KERNELS_ELEMENTWISE_OPS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Merges over n >= 1 inputs of one shape ------------------------------------------------- */

/* Keras's merge functions, reduced left to right in float: add ((x0 + x1) + x2 ...), subtract
 * (x0 - x1, n = 2), multiply ((x0·x1)·x2 ...), average (the sum divided by n), maximum and minimum
 * (pairwise as tf.maximum/tf.minimum: a NaN on either side gives NaN, a tie keeps the left). */
enum {
  FOVEA_MERGE_ADD = 0,
  FOVEA_MERGE_SUBTRACT = 1,
  FOVEA_MERGE_MULTIPLY = 2,
  FOVEA_MERGE_AVERAGE = 3,
  FOVEA_MERGE_MAXIMUM = 4,
  FOVEA_MERGE_MINIMUM = 5
};

/* output[i] = inputs[0][i] op inputs[1][i] op ... for i in begin..<end, in one pass over memory
 * (blocks of the output stay in L1 while each input's block is folded in). */
void fovea_merge(int op, const float *const *inputs, long n, float *output, long begin, long end);

/* Backward of FOVEA_MERGE_MAXIMUM (maximum != 0) or FOVEA_MERGE_MINIMUM: grads[k][i] = gradient[i]
 * for the input TensorFlow's pairwise gradient picks, else 0. Each step acc ∘ x_k gives the
 * gradient to acc when acc >= x_k (acc <= x_k for minimum), else to x_k: so among equal values the
 * first input wins, and a NaN comparison sends it to x_k. grads[k] may be NULL (not wanted). */
void fovea_merge_extremum_backward(int maximum, const float *const *inputs, long n,
                                   const float *gradient, float *const *grads, long begin,
                                   long end);

/* Backward of FOVEA_MERGE_MULTIPLY: grads[k][i] = (gradient·x_{n-1}·…·x_{k+1})·(x_0·…·x_{k-1}),
 * each product left to right (TensorFlow's chain rule through the pairwise products, bit for bit).
 * The prefix products are kept in the gradient buffers themselves: no other memory is touched.
 * grads[k] may be NULL (not wanted). */
void fovea_merge_multiply_backward(const float *const *inputs, long n, const float *gradient,
                                   float *const *grads, long begin, long end);

/* ---- Concatenation --------------------------------------------------------------------------- */

/* Row r of the output (row length Σ widths) is row r of input 0 (widths[0] floats), then row r of
 * input 1, ...: a concatenation along an axis, with `rows` the product of the axes before it and
 * widths[k] = (extent of input k on the axis) × (product of the axes after it). Rows
 * rowBegin..<rowEnd. */
void fovea_concat_rows(const float *const *inputs, const long *widths, long n, float *output,
                       long rowBegin, long rowEnd);

/* The adjoint: row r of each outputs[k] (widths[k] floats) from its place in row r of input.
 * outputs[k] may be NULL (skipped). */
void fovea_split_rows(const float *input, const long *widths, long n, float *const *outputs,
                      long rowBegin, long rowEnd);

/* ---- Spatial padding, cropping, resampling ----------------------------------------------------
 * A tensor is viewed as [outer, H, mid, W, inner]: H and W are the two spatial axes, outer the
 * product of the axes before H, mid of those between, inner of those after W (NHWC: outer = N,
 * mid = 1, inner = C; NCHW: outer = N·C, mid = 1, inner = 1). A "row" is one (o, y, m) triple of
 * the tensor the function writes, numbered (o·H + y)·mid + m. */

/* dst[o][y][m][x][:] = src[o][y - offsetY][m][x - offsetX][:] where that cell is inside src, else
 * 0, for dst rows rowBegin..<rowEnd: zero padding (offsets = top, left ≥ 0) and cropping
 * (offsets = −top, −left), and each one's gradient is the other. */
void fovea_shift_window(const float *src, long srcH, long srcW, float *dst, long dstH, long dstW,
                        long mid, long inner, long offsetY, long offsetX, long rowBegin,
                        long rowEnd);

/* Nearest-neighbour upsampling by integer factors (Keras UpSampling2D 'nearest', ops.repeat):
 * dst[o][y][m][x][:] = src[o][y / scaleY][m][x / scaleX][:] for dst rows rowBegin..<rowEnd
 * (dst is height·scaleY × width·scaleX). */
void fovea_upsample_nearest(const float *src, long height, long width, long mid, long inner,
                            long scaleY, long scaleX, float *dst, long rowBegin, long rowEnd);

/* Its gradient: gradSrc[o][h][m][w][:] = Σ over the scaleY × scaleX block (dy outer, dx inner) of
 * gradDst, for src rows rowBegin..<rowEnd. */
void fovea_upsample_nearest_backward(const float *gradDst, long height, long width, long mid,
                                     long inner, long scaleY, long scaleX, float *gradSrc,
                                     long rowBegin, long rowEnd);

/* TensorFlow's ResizeBilinear with half_pixel_centers (tf.image.resize 'bilinear', what Keras's
 * UpSampling2D 'bilinear' calls): source coordinate (d + 0.5)·(in/out) − 0.5 in float, the lower
 * cell max(floor, 0), the upper min(ceil, in − 1), weight = coordinate − floor, and
 * top + (bottom − top)·wy of left + (right − left)·wx rows. dst rows rowBegin..<rowEnd.
 * Returns 0, or -1 (nothing written) if the column table cannot be allocated. */
int fovea_resize_bilinear(const float *src, long inH, long inW, long mid, long inner, float *dst,
                          long outH, long outW, long rowBegin, long rowEnd);

/* Its gradient for outer indices outerBegin..<outerEnd (whole [H, mid, W, inner] slices, which
 * no other range touches): gradSrc is overwritten, each dst cell's gradient added to its four
 * source cells with weights (1−wy)(1−wx), (1−wy)wx, wy(1−wx), wy·wx. Returns 0 or -1 as above. */
int fovea_resize_bilinear_backward(const float *gradDst, long inH, long inW, long mid, long inner,
                                   float *gradSrc, long outH, long outW, long outerBegin,
                                   long outerEnd);

/* ---- Activations ------------------------------------------------------------------------------ */

/* Element-wise activations, as Keras 3 computes them with TensorFlow (keras.activations and the
 * ReLU/LeakyReLU/ELU layers), and their derivatives as TensorFlow's gradients give them, including
 * the value taken at a kink. */
enum {
  FOVEA_ACT_RELU = 0,          /* max(x, 0); d = x > 0 */
  FOVEA_ACT_RELU6 = 1,         /* min(max(x, 0), 6); d = 0 < x < 6 */
  FOVEA_ACT_LEAKY_RELU = 2,    /* x > 0 ? x : x·slope; d = x > 0 ? 1 : slope (slope at 0) */
  FOVEA_ACT_RELU_GENERAL = 3,  /* Keras relu(x, negative_slope, max_value, threshold), below */
  FOVEA_ACT_ELU = 4,           /* x > 0 ? x : alpha·(exp(x) − 1); d = x > 0 ? 1 : alpha·exp(x) */
  FOVEA_ACT_SELU = 5,          /* x < 0 ? 1.7580993·(exp(x) − 1) : 1.0507010·x */
  FOVEA_ACT_SILU = 6,          /* x·sigmoid(x) */
  FOVEA_ACT_GELU = 7,          /* 0.5·x·erfc(−x·0.70710677) (Keras's "gelu") */
  FOVEA_ACT_GELU_TANH = 8,     /* 0.5·x·(1 + tanh(0.7978846·(x + 0.044715·x³))) */
  FOVEA_ACT_HARD_SIGMOID = 9,  /* relu6(x + 3) / 6 */
  FOVEA_ACT_HARD_SILU = 10,    /* x·hard_sigmoid(x) */
  FOVEA_ACT_SOFTPLUS = 11,     /* log1p(exp(x)), x beyond ±13.94: x or exp(x) (TensorFlow's cut) */
  FOVEA_ACT_SOFTSIGN = 12,     /* x / (|x| + 1) */
  FOVEA_ACT_EXPONENTIAL = 13   /* exp(x) */
};

/* Parameters: slope for LEAKY_RELU and RELU_GENERAL (negative_slope), alpha for ELU; for
 * RELU_GENERAL also threshold and, when has_max_value != 0, max_value. RELU_GENERAL computes Keras's
 * composition: pre = threshold ≠ 0 ? (x > threshold ? x : 0) : max_value == 6 ? relu6(x) : relu(x);
 * then clip(pre, 0, max_value) (boundaries inclusive in the gradient) unless it was relu6; then
 * minus slope·relu(threshold − x) when slope ≠ 0. */
typedef struct {
  float slope;
  float alpha;
  float threshold;
  float max_value;
  int has_max_value;
} fovea_activation_params;

/* y[i] = f(x[i]) for i in 0..<count (in place allowed: y == x). */
void fovea_activation_forward(int kind, fovea_activation_params params, const float *x, float *y,
                              long count);

/* 1 when `kind`'s derivative is computed from the output y alone (x may then be NULL in the
 * backward, and a caller need keep only y), 0 when it needs the input x (y may be NULL). */
int fovea_activation_backward_uses_output(int kind, fovea_activation_params params);

/* result[i] = gradient[i]·f'(x[i]) (TensorFlow's gradient) for i in 0..<count, from y or x as
 * fovea_activation_backward_uses_output says (result may alias gradient). */
void fovea_activation_backward(int kind, fovea_activation_params params, const float *x,
                               const float *y, const float *gradient, float *result, long count);

/* PReLU (Keras PReLU: relu(x) − alpha·relu(−x)) over `rows` rows of `width` floats, alpha one row
 * of `width` floats shared by every row: y = x > 0 ? x : alpha·x. */
void fovea_prelu_forward(const float *x, const float *alpha, float *y, long width, long rowBegin,
                         long rowEnd);

/* Its gradients for rows rowBegin..<rowEnd: gradX (NULL if not wanted) = gradient·(x > 0 ? 1 :
 * x < 0 ? alpha : 0) (TensorFlow's: both ReLU gradients are 0 at 0); gradAlpha (NULL if not wanted;
 * `width` floats, added to) += min(x, 0)·gradient summed over the rows (−relu(−x)·gradient). */
void fovea_prelu_backward(const float *x, const float *alpha, const float *gradient, float *gradX,
                          float *gradAlpha, long width, long rowBegin, long rowEnd);

#ifdef __cplusplus
}
#endif
#endif
