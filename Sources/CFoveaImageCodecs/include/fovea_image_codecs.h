// Fovea's C layer over libpng and libjpeg(-turbo).
//
// Both libraries report errors by longjmp. Every setjmp/longjmp stays inside this target: each
// function below decodes into (or encodes from) caller memory and returns a status code, with a
// human-readable reason written to `message` (FOVEA_IMG_MESSAGE_SIZE bytes, always NUL-terminated).
#ifndef FOVEA_IMAGE_CODECS_H
#define FOVEA_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#define FOVEA_IMG_MESSAGE_SIZE 256

enum {
    FOVEA_IMG_OK = 0,
    FOVEA_IMG_TRUNCATED = 1,        // the data ends before the image does
    FOVEA_IMG_CORRUPT = 2,          // bad CRC, bad compressed data, bad markers, ...
    FOVEA_IMG_EMPTY_DIMENSIONS = 3, // width or height is zero
    FOVEA_IMG_UNSUPPORTED = 4,      // valid but not handled (e.g. CMYK JPEG)
    FOVEA_IMG_OUT_OF_MEMORY = 5,
    FOVEA_IMG_BAD_ARGUMENT = 6,     // caller's buffer / parameters do not match the image
    FOVEA_IMG_ENCODE_FAILED = 7,
};

typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t channels;     // after expansion: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int32_t bit_depth;    // of the decoded samples: 8 or 16 (PNG); 8 (JPEG)
    int32_t interlaced;   // PNG Adam7 / progressive JPEG
} fovea_img_info;

// PNG. `fovea_png_info` reads only the header (no pixel allocation). `fovea_png_decode` writes
// width*height*channels floats (16-bit samples divided by 257) to `out`; `out_count` must match.
// Palette images are expanded to RGB(A), low-bit gray to 8 bits, tRNS to an alpha channel.
int fovea_png_info(const uint8_t *data, size_t size, fovea_img_info *info, char *message);
int fovea_png_decode(const uint8_t *data, size_t size, float *out, size_t out_count,
                     fovea_img_info *info, char *message);

// JPEG. Gray stays gray (1 channel); everything else becomes RGB (3 channels).
// A premature end of data (libjpeg's warning JWRN_JPEG_EOF) is reported as FOVEA_IMG_TRUNCATED.
int fovea_jpeg_info(const uint8_t *data, size_t size, fovea_img_info *info, char *message);
int fovea_jpeg_decode(const uint8_t *data, size_t size, float *out, size_t out_count,
                      fovea_img_info *info, char *message);

// Encoders: `pixels` holds height*width*channels bytes, row-major. On success `*out` is a malloc'd
// buffer of `*out_size` bytes that the caller releases with `fovea_img_free`.
// PNG: 8-bit, channels 1...4, optionally Adam7-interlaced.
int fovea_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                     int interlaced, uint8_t **out, size_t *out_size, char *message);
// JPEG: channels 1 (gray) or 3 (RGB); quality 1...100; optionally progressive.
int fovea_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      int quality, int progressive, uint8_t **out, size_t *out_size, char *message);

void fovea_img_free(void *pointer);

#endif
