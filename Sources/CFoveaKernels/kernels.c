#include "fovea_kernels.h"
int fovea_kernels_placeholder(void) { return 0; }
