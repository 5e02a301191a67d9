/* Elementwise passes of the fused ops' backward: the ReLU gate and bias gradients. Plain C that
 * the compiler vectorises for the baseline ISA; in Swift, closures per element cost 5-10x more. */
#include "fovea_kernels.h"

void fovea_relu_gate(const float *restrict gradient, const float *restrict output,
                     float *restrict result, long count) {
  for (long i = 0; i < count; i++) result[i] = output[i] > 0.0f ? gradient[i] : 0.0f;
}

void fovea_column_sums(const float *restrict x, long rows, long columns, float *restrict sums) {
  for (long j = 0; j < columns; j++) sums[j] = 0.0f;
  for (long i = 0; i < rows; i++) {
    const float *restrict row = x + i * columns;
    for (long j = 0; j < columns; j++) sums[j] += row[j];
  }
}
