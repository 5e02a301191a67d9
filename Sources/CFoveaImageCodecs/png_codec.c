// PNG decoding and encoding over libpng 1.6. All setjmp/longjmp stays in this file.
#include "fovea_image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void set_message(char *message, const char *text) {
    if (message == NULL) return;
    strncpy(message, text, FOVEA_IMG_MESSAGE_SIZE - 1);
    message[FOVEA_IMG_MESSAGE_SIZE - 1] = 0;
}

typedef struct {
    // Reading.
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    int short_image_data;
    // Writing.
    uint8_t *buffer;
    size_t length;
    size_t capacity;
    int out_of_memory;
    // Both.
    char *message;
} png_context;

static void png_error_callback(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    if (context->message[0] == 0) set_message(context->message, text);
    png_longjmp(png, 1);
}

static void png_warning_callback(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    // libpng only warns (benign error) when the compressed image stream ends early; that image
    // would be partial, so it is an error here. Other warnings (ancillary chunks) are ignored.
    if (strstr(text, "Not enough image data") != NULL) {
        context->short_image_data = 1;
        if (context->message[0] == 0) set_message(context->message, text);
    }
}

static void png_read_callback(png_structp png, png_bytep out, size_t count) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (count > context->size - context->position) {
        context->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(out, context->data + context->position, count);
    context->position += count;
}

// The context (read by the error path after longjmp) lives on the heap: automatic variables
// changed after setjmp would be indeterminate there.
static int png_run_state(png_context *s, const uint8_t *data, size_t size, float *out, size_t out_count,
                         fovea_img_info *info, char *message) {
    s->data = data;
    s->size = size;
    s->message = message;
    message[0] = 0;
    memset(info, 0, sizeof *info);

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s,
                                             png_error_callback, png_warning_callback);
    if (png == NULL) { set_message(message, "out of memory"); return FOVEA_IMG_OUT_OF_MEMORY; }
    png_infop png_info = png_create_info_struct(png);
    if (png_info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    uint8_t *volatile samples = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(samples);
        free(rows);
        png_destroy_read_struct(&png, &png_info, NULL);
        if (message[0] == 0) set_message(message, "libpng error");
        return s->truncated ? FOVEA_IMG_TRUNCATED : FOVEA_IMG_CORRUPT;
    }
    png_set_read_fn(png, s, png_read_callback);
    // The caller bounds width*height (maxPixels); libpng's own 1,000,000-per-side default is lifted.
    png_set_user_limits(png, 0x7fffffffU, 0x7fffffffU);

    png_read_info(png, png_info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, png_info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    // The decoded layout, worked out from the header alone: png_read_update_info allocates (and
    // clears) row buffers, so it runs only after the caller has checked the size.
    int has_trns = png_get_valid(png, png_info, PNG_INFO_tRNS) != 0;
    int channels;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: channels = 1 + has_trns; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: channels = 2; break;
    case PNG_COLOR_TYPE_PALETTE: channels = 3 + has_trns; break;
    case PNG_COLOR_TYPE_RGB: channels = 3 + has_trns; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: channels = 4; break;
    default: channels = 0; break;
    }
    info->width = width;
    info->height = height;
    info->channels = channels;
    info->bit_depth = bit_depth == 16 ? 16 : 8;
    info->interlaced = interlace != PNG_INTERLACE_NONE;

    if (out == NULL) {
        png_destroy_read_struct(&png, &png_info, NULL);
        return FOVEA_IMG_OK;
    }
    if (channels == 0 || (size_t)width * (size_t)channels * (size_t)height != out_count) {
        png_destroy_read_struct(&png, &png_info, NULL);
        set_message(message, "output buffer does not match the image");
        return FOVEA_IMG_BAD_ARGUMENT;
    }

    png_set_expand(png);  // palette -> RGB(A), gray < 8 bits -> 8 bits, tRNS -> alpha
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, png_info);
    if (png_get_channels(png, png_info) != channels ||
        png_get_bit_depth(png, png_info) != info->bit_depth) {
        png_destroy_read_struct(&png, &png_info, NULL);
        set_message(message, "unexpected layout after expansion");
        return FOVEA_IMG_UNSUPPORTED;
    }
    size_t per_row = (size_t)width * (size_t)info->channels;
    if (width == 0 || height == 0 || per_row * height != out_count ||
        (info->bit_depth != 8 && info->bit_depth != 16)) {
        png_destroy_read_struct(&png, &png_info, NULL);
        set_message(message, "output buffer does not match the image");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    size_t row_bytes = png_get_rowbytes(png, png_info);
    size_t bytes_per_sample = info->bit_depth == 16 ? 2 : 1;
    if (row_bytes != per_row * bytes_per_sample) {
        png_destroy_read_struct(&png, &png_info, NULL);
        set_message(message, "unexpected row layout");
        return FOVEA_IMG_UNSUPPORTED;
    }
    samples = (uint8_t *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (samples == NULL || rows == NULL) {
        free(samples);
        free(rows);
        png_destroy_read_struct(&png, &png_info, NULL);
        set_message(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = samples + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    if (s->short_image_data) {
        free(samples);
        free(rows);
        png_destroy_read_struct(&png, &png_info, NULL);
        return FOVEA_IMG_CORRUPT;
    }
    size_t count = per_row * height;
    if (bytes_per_sample == 2) {
        for (size_t i = 0; i < count; i++) {
            unsigned value = ((unsigned)samples[2 * i] << 8) | samples[2 * i + 1];
            out[i] = (float)value / 257.0f;
        }
    } else {
        for (size_t i = 0; i < count; i++) out[i] = (float)samples[i];
    }
    free(samples);
    free(rows);
    png_destroy_read_struct(&png, &png_info, NULL);
    return FOVEA_IMG_OK;
}

static int png_run(const uint8_t *data, size_t size, float *out, size_t out_count,
                   fovea_img_info *info, char *message) {
    png_context *context = (png_context *)calloc(1, sizeof(png_context));
    if (context == NULL) { set_message(message, "out of memory"); return FOVEA_IMG_OUT_OF_MEMORY; }
    int status = png_run_state(context, data, size, out, out_count, info, message);
    free(context);
    return status;
}

int fovea_png_info(const uint8_t *data, size_t size, fovea_img_info *info, char *message) {
    return png_run(data, size, NULL, 0, info, message);
}

int fovea_png_decode(const uint8_t *data, size_t size, float *out, size_t out_count,
                     fovea_img_info *info, char *message) {
    if (out == NULL) { set_message(message, "no output buffer"); return FOVEA_IMG_BAD_ARGUMENT; }
    return png_run(data, size, out, out_count, info, message);
}

static void png_write_callback(png_structp png, png_bytep bytes, size_t count) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (count > context->capacity - context->length) {
        size_t capacity = context->capacity < 4096 ? 4096 : context->capacity;
        while (capacity - context->length < count) {
            if (capacity > ((size_t)-1) / 2) { context->out_of_memory = 1; png_error(png, "out of memory"); }
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(context->buffer, capacity);
        if (grown == NULL) { context->out_of_memory = 1; png_error(png, "out of memory"); }
        context->buffer = grown;
        context->capacity = capacity;
    }
    memcpy(context->buffer + context->length, bytes, count);
    context->length += count;
}

static void png_flush_callback(png_structp png) { (void)png; }

static int png_encode_state(png_context *s, const uint8_t *pixels, uint32_t width, uint32_t height,
                            int channels, int interlaced, uint8_t **out, size_t *out_size, char *message) {
    message[0] = 0;
    *out = NULL;
    *out_size = 0;
    int color_type;
    switch (channels) {
    case 1: color_type = PNG_COLOR_TYPE_GRAY; break;
    case 2: color_type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
    case 3: color_type = PNG_COLOR_TYPE_RGB; break;
    case 4: color_type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default: set_message(message, "channels must be 1, 2, 3 or 4"); return FOVEA_IMG_BAD_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > 0x7fffffffU || height > 0x7fffffffU) {
        set_message(message, "width and height must be between 1 and 2^31-1");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    s->message = message;

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s,
                                              png_error_callback, png_warning_callback);
    if (png == NULL) { set_message(message, "out of memory"); return FOVEA_IMG_OUT_OF_MEMORY; }
    png_infop png_info = png_create_info_struct(png);
    if (png_info == NULL) {
        png_destroy_write_struct(&png, NULL);
        set_message(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &png_info);
        free(s->buffer);
        if (message[0] == 0) set_message(message, "libpng error");
        return s->out_of_memory ? FOVEA_IMG_OUT_OF_MEMORY : FOVEA_IMG_ENCODE_FAILED;
    }
    png_set_user_limits(png, 0x7fffffffU, 0x7fffffffU);
    png_set_write_fn(png, s, png_write_callback, png_flush_callback);
    png_set_IHDR(png, png_info, width, height, 8, color_type,
                 interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, png_info);
    int passes = png_set_interlace_handling(png);
    size_t row_bytes = (size_t)width * (size_t)channels;
    for (int pass = 0; pass < passes; pass++) {
        for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * row_bytes);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &png_info);
    *out = s->buffer;
    *out_size = s->length;
    return FOVEA_IMG_OK;
}

int fovea_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                     int interlaced, uint8_t **out, size_t *out_size, char *message) {
    png_context *context = (png_context *)calloc(1, sizeof(png_context));
    if (context == NULL) {
        *out = NULL;
        *out_size = 0;
        set_message(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    int status = png_encode_state(context, pixels, width, height, channels, interlaced, out, out_size, message);
    free(context);
    return status;
}

void fovea_img_free(void *pointer) { free(pointer); }
