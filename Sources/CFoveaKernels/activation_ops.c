/* Element-wise activations and their derivatives, one pass each, as Keras 3 computes them with
 * TensorFlow: the same formulas in the same float order (TensorFlow's kernels for relu, relu6,
 * leaky_relu, elu, selu, softplus and softsign; Keras's compositions for the ReLU layer's options,
 * hard_sigmoid, hard_silu and PReLU), and TensorFlow's gradient conventions at the kinks (a ReLU's
 * gradient is 0 at 0, relu6's at 0 and 6, leaky_relu's is the slope at 0). The piecewise-linear ones
 * are eight-lane vector selects; the transcendental ones call libm per element. */
#include <float.h>
#include <math.h>
#include "fovea_kernels_elementwise_ops.h"
#include "internal.h"

#pragma STDC FP_CONTRACT OFF

#define LOAD8(p) (*(const fovea_v8f_u *)(p))
#define STORE8(p, v) (*(fovea_v8f_u *)(p) = (v))
#define SPLAT8(v) ((fovea_v8f){(v), (v), (v), (v), (v), (v), (v), (v)})

/* mask ? a : b lane by lane (a macro: a function taking vectors warns about the AVX ABI). */
#define select8(mask, a, b) \
  ((fovea_v8f)(((mask) & (fovea_v8i)(a)) | (~(mask) & (fovea_v8i)(b))))

/* tf.nn.selu's constants (float). */
static const float selu_scale = 1.0507009873554804934193349852946f;
static const float selu_scale_alpha = 1.7580993408473768599402175208123f;

/* max(x, 0) and min(max(x, 0), 6), NaN passing through as in TensorFlow. */
static inline float relu1(float x) { return x < 0.0f ? 0.0f : x; }
static inline float relu6_1(float x) {
  float v = x < 0.0f ? 0.0f : x;
  return v > 6.0f ? 6.0f : v;
}

static inline float sigmoid1(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Keras's relu(x, negative_slope, max_value, threshold) (activations.ReLU.static_call): value
 * and, when d is not NULL, TensorFlow's derivative through that composition. */
static inline float relu_general(float x, fovea_activation_params p, float *d) {
  if (p.slope != 0.0f && !p.has_max_value && p.threshold == 0.0f) { /* tf.nn.leaky_relu */
    if (d) *d = x > 0.0f ? 1.0f : p.slope;
    return x > 0.0f ? x : x * p.slope;
  }
  float pre, dpre;
  int clip = p.has_max_value;
  if (p.threshold != 0.0f) {
    pre = x > p.threshold ? x : 0.0f;
    dpre = x > p.threshold ? 1.0f : 0.0f;
  } else if (p.has_max_value && p.max_value == 6.0f) {
    pre = relu6_1(x);
    dpre = x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
    clip = 0;
  } else {
    pre = relu1(x);
    dpre = x > 0.0f ? 1.0f : 0.0f;
  }
  if (clip) {
    /* tf.clip_by_value = maximum(minimum(pre, max), 0); each passes the gradient on a tie. */
    float low = pre <= p.max_value ? pre : p.max_value;
    if (!(pre <= p.max_value && low >= 0.0f)) dpre = 0.0f;
    pre = low >= 0.0f ? low : 0.0f;
  }
  if (p.slope != 0.0f) {
    float shifted = -x + p.threshold;
    pre = pre - p.slope * relu1(shifted);
    if (shifted > 0.0f) dpre = dpre + p.slope;
  }
  if (d) *d = dpre;
  return pre;
}

void fovea_activation_forward(int kind, fovea_activation_params p, const float *x, float *y,
                              long count) {
  long i = 0;
  switch (kind) {
  case FOVEA_ACT_RELU:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i);
      STORE8(y + i, select8(v < SPLAT8(0.0f), SPLAT8(0.0f), v));
    }
    for (; i < count; i++) y[i] = relu1(x[i]);
    break;
  case FOVEA_ACT_RELU6:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i);
      v = select8(v < SPLAT8(0.0f), SPLAT8(0.0f), v);
      STORE8(y + i, select8(v > SPLAT8(6.0f), SPLAT8(6.0f), v));
    }
    for (; i < count; i++) y[i] = relu6_1(x[i]);
    break;
  case FOVEA_ACT_LEAKY_RELU: {
    fovea_v8f s = SPLAT8(p.slope);
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i);
      STORE8(y + i, select8(v > SPLAT8(0.0f), v, v * s));
    }
    for (; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : x[i] * p.slope;
    break;
  }
  case FOVEA_ACT_RELU_GENERAL:
    for (; i < count; i++) y[i] = relu_general(x[i], p, NULL);
    break;
  case FOVEA_ACT_ELU:
    /* tf.nn.elu is x < 0 ? exp(x) − 1 : x (exp minus one, not expm1); Keras then takes
     * alpha·that where x <= 0. */
    for (; i < count; i++) {
      float v = x[i], res = v < 0.0f ? expf(v) - 1.0f : v;
      y[i] = v > 0.0f ? v : p.alpha * res;
    }
    break;
  case FOVEA_ACT_SELU:
    for (; i < count; i++) {
      float v = x[i];
      y[i] = v < 0.0f ? selu_scale_alpha * (expf(v) - 1.0f) : selu_scale * v;
    }
    break;
  case FOVEA_ACT_SILU:
    for (; i < count; i++) y[i] = x[i] * sigmoid1(x[i]);
    break;
  case FOVEA_ACT_GELU:
    for (; i < count; i++) y[i] = 0.5f * x[i] * erfcf(-x[i] * 0.70710677f);
    break;
  case FOVEA_ACT_GELU_TANH:
    for (; i < count; i++) {
      float v = x[i];
      float u = 0.7978846f * (v + 0.044715f * powf(v, 3.0f));
      y[i] = 0.5f * v * (1.0f + tanhf(u));
    }
    break;
  case FOVEA_ACT_HARD_SIGMOID:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i) + SPLAT8(3.0f);
      v = select8(v < SPLAT8(0.0f), SPLAT8(0.0f), v);
      STORE8(y + i, select8(v > SPLAT8(6.0f), SPLAT8(6.0f), v) / SPLAT8(6.0f));
    }
    for (; i < count; i++) y[i] = relu6_1(x[i] + 3.0f) / 6.0f;
    break;
  case FOVEA_ACT_HARD_SILU:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f x8 = LOAD8(x + i), v = x8 + SPLAT8(3.0f);
      v = select8(v < SPLAT8(0.0f), SPLAT8(0.0f), v);
      STORE8(y + i, x8 * (select8(v > SPLAT8(6.0f), SPLAT8(6.0f), v) / SPLAT8(6.0f)));
    }
    for (; i < count; i++) y[i] = x[i] * (relu6_1(x[i] + 3.0f) / 6.0f);
    break;
  case FOVEA_ACT_SOFTPLUS: {
    /* TensorFlow's cut-offs: beyond them softplus is x or exp(x) within machine epsilon. */
    const float threshold = logf(FLT_EPSILON) + 2.0f;
    for (; i < count; i++) {
      float v = x[i];
      y[i] = v > -threshold ? v : v < threshold ? expf(v) : log1pf(expf(v));
    }
    break;
  }
  case FOVEA_ACT_SOFTSIGN:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i);
      fovea_v8f a = (fovea_v8f)((fovea_v8i)v & (fovea_v8i)SPLAT8(-0.0f) ^ (fovea_v8i)v);
      STORE8(y + i, v / (a + SPLAT8(1.0f)));
    }
    for (; i < count; i++) y[i] = x[i] / (fabsf(x[i]) + 1.0f);
    break;
  case FOVEA_ACT_EXPONENTIAL:
    for (; i < count; i++) y[i] = expf(x[i]);
    break;
  }
}

int fovea_activation_backward_uses_output(int kind, fovea_activation_params p) {
  switch (kind) {
  case FOVEA_ACT_RELU:
  case FOVEA_ACT_RELU6:
  case FOVEA_ACT_SELU:
  case FOVEA_ACT_EXPONENTIAL:
    return 1;
  case FOVEA_ACT_LEAKY_RELU:
    /* With a slope >= 0 the output is > 0 exactly where the input is. */
    return p.slope >= 0.0f;
  default:
    return 0;
  }
}

void fovea_activation_backward(int kind, fovea_activation_params p, const float *x,
                               const float *y, const float *gradient, float *result, long count) {
  long i = 0;
  const float *g = gradient;
  switch (kind) {
  case FOVEA_ACT_RELU:
    for (; i + 8 <= count; i += 8)
      STORE8(result + i, (fovea_v8f)((LOAD8(y + i) > SPLAT8(0.0f)) & (fovea_v8i)LOAD8(g + i)));
    for (; i < count; i++) result[i] = y[i] > 0.0f ? g[i] : 0.0f;
    break;
  case FOVEA_ACT_RELU6:
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(y + i);
      fovea_v8i inside = (v > SPLAT8(0.0f)) & (v < SPLAT8(6.0f));
      STORE8(result + i, (fovea_v8f)(inside & (fovea_v8i)LOAD8(g + i)));
    }
    for (; i < count; i++) result[i] = y[i] > 0.0f && y[i] < 6.0f ? g[i] : 0.0f;
    break;
  case FOVEA_ACT_LEAKY_RELU: {
    const float *v = fovea_activation_backward_uses_output(kind, p) ? y : x;
    fovea_v8f s = SPLAT8(p.slope);
    for (; i + 8 <= count; i += 8) {
      fovea_v8f g8 = LOAD8(g + i);
      STORE8(result + i, select8(LOAD8(v + i) > SPLAT8(0.0f), g8, g8 * s));
    }
    for (; i < count; i++) result[i] = v[i] > 0.0f ? g[i] : g[i] * p.slope;
    break;
  }
  case FOVEA_ACT_RELU_GENERAL:
    for (; i < count; i++) {
      float d;
      relu_general(x[i], p, &d);
      result[i] = g[i] * d;
    }
    break;
  case FOVEA_ACT_ELU:
    /* TensorFlow's EluGrad from elu's output res: res < 0 ? (res + 1)·g : g, of alpha·g where
     * x <= 0. */
    for (; i < count; i++) {
      float v = x[i];
      if (v > 0.0f) {
        result[i] = g[i];
      } else {
        float res = v < 0.0f ? expf(v) - 1.0f : v, ga = p.alpha * g[i];
        result[i] = res < 0.0f ? (res + 1.0f) * ga : ga;
      }
    }
    break;
  case FOVEA_ACT_SELU:
    for (; i < count; i++)
      result[i] = y[i] < 0.0f ? g[i] * (y[i] + selu_scale_alpha) : g[i] * selu_scale;
    break;
  case FOVEA_ACT_SILU:
    /* tf.nn.silu's own gradient: sigmoid·(1 + x·(1 − sigmoid)). */
    for (; i < count; i++) {
      float s = sigmoid1(x[i]);
      result[i] = g[i] * (s * (1.0f + x[i] * (1.0f - s)));
    }
    break;
  case FOVEA_ACT_GELU:
    /* d/dx 0.5·x·erfc(−x/√2) = 0.5·erfc(−x/√2) + x·exp(−x²/2)/√(2π). */
    for (; i < count; i++) {
      float v = x[i], z = -v * 0.70710677f;
      result[i] = g[i] * (0.5f * erfcf(z) + v * 0.3989422804f * expf(-(z * z)));
    }
    break;
  case FOVEA_ACT_GELU_TANH:
    for (; i < count; i++) {
      float v = x[i], v2 = v * v;
      float t = tanhf(0.7978846f * (v + 0.044715f * v2 * v));
      float du = 0.7978846f * (1.0f + 3.0f * 0.044715f * v2);
      result[i] = g[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
    break;
  case FOVEA_ACT_HARD_SIGMOID:
    /* relu6's gradient (0 < x + 3 < 6) of g / 6. */
    for (; i + 8 <= count; i += 8) {
      fovea_v8f v = LOAD8(x + i) + SPLAT8(3.0f);
      fovea_v8i inside = (v > SPLAT8(0.0f)) & (v < SPLAT8(6.0f));
      STORE8(result + i, (fovea_v8f)(inside & (fovea_v8i)(LOAD8(g + i) / SPLAT8(6.0f))));
    }
    for (; i < count; i++) {
      float v = x[i] + 3.0f;
      result[i] = v > 0.0f && v < 6.0f ? g[i] / 6.0f : 0.0f;
    }
    break;
  case FOVEA_ACT_HARD_SILU:
    /* g·hard_sigmoid(x) + relu6'(x + 3)·(x·g / 6). */
    for (; i + 8 <= count; i += 8) {
      fovea_v8f x8 = LOAD8(x + i), g8 = LOAD8(g + i), v = x8 + SPLAT8(3.0f);
      fovea_v8i inside = (v > SPLAT8(0.0f)) & (v < SPLAT8(6.0f));
      fovea_v8f r = select8(v < SPLAT8(0.0f), SPLAT8(0.0f), v);
      fovea_v8f hs = select8(r > SPLAT8(6.0f), SPLAT8(6.0f), r) / SPLAT8(6.0f);
      fovea_v8f through = (fovea_v8f)(inside & (fovea_v8i)(x8 * g8 / SPLAT8(6.0f)));
      STORE8(result + i, g8 * hs + through);
    }
    for (; i < count; i++) {
      float v = x[i] + 3.0f, hs = relu6_1(v) / 6.0f;
      float through = v > 0.0f && v < 6.0f ? x[i] * g[i] / 6.0f : 0.0f;
      result[i] = g[i] * hs + through;
    }
    break;
  case FOVEA_ACT_SOFTPLUS:
    for (; i < count; i++) result[i] = g[i] / (expf(-x[i]) + 1.0f);
    break;
  case FOVEA_ACT_SOFTSIGN:
    for (; i < count; i++) {
      float a = fabsf(x[i]) + 1.0f;
      result[i] = g[i] / (a * a);
    }
    break;
  case FOVEA_ACT_EXPONENTIAL:
    for (; i + 8 <= count; i += 8) STORE8(result + i, LOAD8(g + i) * LOAD8(y + i));
    for (; i < count; i++) result[i] = g[i] * y[i];
    break;
  }
}

void fovea_prelu_forward(const float *x, const float *alpha, float *y, long width, long rowBegin,
                         long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *xr = x + r * width;
    float *yr = y + r * width;
    long j = 0;
    for (; j + 8 <= width; j += 8) {
      fovea_v8f v = LOAD8(xr + j);
      STORE8(yr + j, select8(v > SPLAT8(0.0f), v, LOAD8(alpha + j) * v));
    }
    for (; j < width; j++) yr[j] = xr[j] > 0.0f ? xr[j] : alpha[j] * xr[j];
  }
}

void fovea_prelu_backward(const float *x, const float *alpha, const float *gradient, float *gradX,
                          float *gradAlpha, long width, long rowBegin, long rowEnd) {
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *xr = x + r * width, *gr = gradient + r * width;
    if (gradX) {
      float *dr = gradX + r * width;
      long j = 0;
      for (; j + 8 <= width; j += 8) {
        fovea_v8f v = LOAD8(xr + j), g8 = LOAD8(gr + j);
        fovea_v8f neg = (fovea_v8f)((v < SPLAT8(0.0f)) & (fovea_v8i)(LOAD8(alpha + j) * g8));
        STORE8(dr + j, select8(v > SPLAT8(0.0f), g8, neg));
      }
      for (; j < width; j++) dr[j] = xr[j] > 0.0f ? gr[j] : xr[j] < 0.0f ? alpha[j] * gr[j] : 0.0f;
    }
    if (gradAlpha) {
      long j = 0;
      for (; j + 8 <= width; j += 8) {
        fovea_v8f v = LOAD8(xr + j);
        fovea_v8f neg = select8(v < SPLAT8(0.0f), v, SPLAT8(0.0f));
        STORE8(gradAlpha + j, LOAD8(gradAlpha + j) + neg * LOAD8(gr + j));
      }
      for (; j < width; j++) gradAlpha[j] += (xr[j] < 0.0f ? xr[j] : 0.0f) * gr[j];
    }
  }
}
