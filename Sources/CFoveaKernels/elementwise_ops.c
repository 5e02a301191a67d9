/* Merges (n-ary add, subtract, multiply, average, maximum, minimum) and concatenation: the kernels
 * under Keras's merge layers. The reductions fold the inputs left to right in float, as Keras's
 * merge layers call the backend pairwise, so that the results are Keras's to the bit. Hot select
 * loops use eight-lane vectors: a ternary per element became a mispredicted branch elsewhere here. */
#include <string.h>
#include "fovea_kernels_elementwise_ops.h"
#include "internal.h"

/* Keras's numbers come from separately rounded products and sums: never fuse them. */
#pragma STDC FP_CONTRACT OFF

/* Floats of one block: the output's block stays in L1 while each input's block is folded in. */
#define MERGE_BLOCK 1024

#define LOAD8(p) (*(const fovea_v8f_u *)(p))
#define STORE8(p, v) (*(fovea_v8f_u *)(p) = (v))

/* mask ? a : b lane by lane (a macro: a function taking vectors warns about the AVX ABI). */
#define select8(mask, a, b) \
  ((fovea_v8f)(((mask) & (fovea_v8i)(a)) | (~(mask) & (fovea_v8i)(b))))

/* o[j] = a[j] op b[j] for j < len; o may be a (the running result). */
static void fold(int op, float *o, const float *a, const float *b, long len) {
  long j = 0;
  switch (op) {
  case FOVEA_MERGE_ADD:
  case FOVEA_MERGE_AVERAGE:
    for (; j + 8 <= len; j += 8) STORE8(o + j, LOAD8(a + j) + LOAD8(b + j));
    for (; j < len; j++) o[j] = a[j] + b[j];
    break;
  case FOVEA_MERGE_SUBTRACT:
    for (; j + 8 <= len; j += 8) STORE8(o + j, LOAD8(a + j) - LOAD8(b + j));
    for (; j < len; j++) o[j] = a[j] - b[j];
    break;
  case FOVEA_MERGE_MULTIPLY:
    for (; j + 8 <= len; j += 8) STORE8(o + j, LOAD8(a + j) * LOAD8(b + j));
    for (; j < len; j++) o[j] = a[j] * b[j];
    break;
  case FOVEA_MERGE_MAXIMUM:
    /* tf.maximum: the left value when it is >= the right or NaN, else the right (NaN included). */
    for (; j + 8 <= len; j += 8) {
      fovea_v8f x = LOAD8(a + j), y = LOAD8(b + j);
      STORE8(o + j, select8((x >= y) | (x != x), x, y));
    }
    for (; j < len; j++) o[j] = (a[j] >= b[j] || a[j] != a[j]) ? a[j] : b[j];
    break;
  case FOVEA_MERGE_MINIMUM:
    for (; j + 8 <= len; j += 8) {
      fovea_v8f x = LOAD8(a + j), y = LOAD8(b + j);
      STORE8(o + j, select8((x <= y) | (x != x), x, y));
    }
    for (; j < len; j++) o[j] = (a[j] <= b[j] || a[j] != a[j]) ? a[j] : b[j];
    break;
  }
}

void fovea_merge(int op, const float *const *inputs, long n, float *output, long begin,
                 long end) {
  for (long t = begin; t < end; t += MERGE_BLOCK) {
    long len = FOVEA_MIN(MERGE_BLOCK, end - t);
    float *o = output + t;
    if (n == 1) {
      memcpy(o, inputs[0] + t, (size_t)len * sizeof(float)); /* x / 1 is x */
      continue;
    }
    fold(op, o, inputs[0] + t, inputs[1] + t, len);
    for (long k = 2; k < n; k++) fold(op, o, o, inputs[k] + t, len);
    if (op == FOVEA_MERGE_AVERAGE) {
      /* A division, as Keras divides the sum by len(inputs) (not a product with 1/n). */
      float d = (float)n;
      fovea_v8f dv = {d, d, d, d, d, d, d, d};
      long j = 0;
      for (; j + 8 <= len; j += 8) STORE8(o + j, LOAD8(o + j) / dv);
      for (; j < len; j++) o[j] = o[j] / d;
    }
  }
}

void fovea_merge_extremum_backward(int maximum, const float *const *inputs, long n,
                                   const float *gradient, float *const *grads, long begin,
                                   long end) {
  float acc[MERGE_BLOCK];
  int32_t winner[MERGE_BLOCK];
  for (long t = begin; t < end; t += MERGE_BLOCK) {
    long len = FOVEA_MIN(MERGE_BLOCK, end - t);
    memcpy(acc, inputs[0] + t, (size_t)len * sizeof(float));
    memset(winner, 0, (size_t)len * sizeof(int32_t));
    /* Replay the pairwise reduction: the gradient mask of each step (acc >= x_k, or <=) decides
     * whether the winner so far keeps the gradient; the value follows tf.maximum's NaN rule. */
    for (long k = 1; k < n; k++) {
      const float *x = inputs[k] + t;
      fovea_v8i kv = {(int32_t)k, (int32_t)k, (int32_t)k, (int32_t)k,
                      (int32_t)k, (int32_t)k, (int32_t)k, (int32_t)k};
      long j = 0;
      for (; j + 8 <= len; j += 8) {
        fovea_v8f a = LOAD8(acc + j), v = LOAD8(x + j);
        fovea_v8i keeps = maximum ? (a >= v) : (a <= v);
        fovea_v8i w = *(const fovea_v8i_u *)(winner + j);
        *(fovea_v8i_u *)(winner + j) = (keeps & w) | (~keeps & kv);
        STORE8(acc + j, select8(keeps | (a != a), a, v));
      }
      for (; j < len; j++) {
        int keeps = maximum ? acc[j] >= x[j] : acc[j] <= x[j];
        if (!keeps) winner[j] = (int32_t)k;
        if (!keeps && acc[j] == acc[j]) acc[j] = x[j];
      }
    }
    const float *g = gradient + t;
    for (long k = 0; k < n; k++) {
      float *gk = grads[k];
      if (!gk) continue;
      gk += t;
      fovea_v8i kv = {(int32_t)k, (int32_t)k, (int32_t)k, (int32_t)k,
                      (int32_t)k, (int32_t)k, (int32_t)k, (int32_t)k};
      long j = 0;
      for (; j + 8 <= len; j += 8) {
        fovea_v8i mine = *(const fovea_v8i_u *)(winner + j) == kv;
        STORE8(gk + j, (fovea_v8f)(mine & (fovea_v8i)LOAD8(g + j)));
      }
      for (; j < len; j++) gk[j] = winner[j] == k ? g[j] : 0.0f;
    }
  }
}

void fovea_merge_multiply_backward(const float *const *inputs, long n, const float *gradient,
                                   float *const *grads, long begin, long end) {
  long first = -1, last = -1;
  for (long k = 0; k < n; k++)
    if (grads[k]) {
      if (first < 0) first = k;
      last = k;
    }
  if (first < 0) return;
  float suffix[MERGE_BLOCK];
  for (long t = begin; t < end; t += MERGE_BLOCK) {
    long len = FOVEA_MIN(MERGE_BLOCK, end - t);
    /* Prefix products x0·…·x_{k-1}, each kept in grads[k] when that is wanted, else in the
     * scratch block (free until the suffix sweep) or, for x0 alone, read in place. */
    const float *prefix = NULL;
    for (long k = 1; k <= last; k++) {
      const float *x = inputs[k - 1] + t;
      if (grads[k]) {
        float *dst = grads[k] + t;
        if (prefix) fold(FOVEA_MERGE_MULTIPLY, dst, prefix, x, len);
        else memcpy(dst, x, (size_t)len * sizeof(float));
        prefix = dst;
      } else if (prefix) {
        fold(FOVEA_MERGE_MULTIPLY, suffix, prefix, x, len);
        prefix = suffix;
      } else {
        prefix = x;
      }
    }
    /* Suffix products gradient·x_{n-1}·…·x_{k+1}, multiplied into the wanted prefixes. */
    const float *s = gradient + t;
    for (long k = n - 1; k >= first; k--) {
      if (grads[k]) {
        float *gk = grads[k] + t;
        if (k == 0) memcpy(gk, s, (size_t)len * sizeof(float));
        else fold(FOVEA_MERGE_MULTIPLY, gk, s, gk, len);
      }
      if (k > first) {
        fold(FOVEA_MERGE_MULTIPLY, suffix, s, inputs[k] + t, len);
        s = suffix;
      }
    }
  }
}

void fovea_concat_rows(const float *const *inputs, const long *widths, long n, float *output,
                       long rowBegin, long rowEnd) {
  long total = 0;
  for (long k = 0; k < n; k++) total += widths[k];
  for (long r = rowBegin; r < rowEnd; r++) {
    float *o = output + r * total;
    for (long k = 0; k < n; k++) {
      memcpy(o, inputs[k] + r * widths[k], (size_t)widths[k] * sizeof(float));
      o += widths[k];
    }
  }
}

void fovea_split_rows(const float *input, const long *widths, long n, float *const *outputs,
                      long rowBegin, long rowEnd) {
  long total = 0;
  for (long k = 0; k < n; k++) total += widths[k];
  for (long r = rowBegin; r < rowEnd; r++) {
    const float *i = input + r * total;
    for (long k = 0; k < n; k++) {
      if (outputs[k]) memcpy(outputs[k] + r * widths[k], i, (size_t)widths[k] * sizeof(float));
      i += widths[k];
    }
  }
}
