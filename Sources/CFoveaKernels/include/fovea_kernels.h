int fovea_kernels_placeholder(void);
