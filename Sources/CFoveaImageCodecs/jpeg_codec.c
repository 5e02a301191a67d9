// JPEG decoding and encoding over libjpeg(-turbo). All setjmp/longjmp stays in this file.
#include "fovea_image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr manager;  // first member: libjpeg hands out a pointer to it
    jmp_buf jump;
    char *message;
    int truncated;
    int empty;
    int out_of_memory;
} jpeg_error_context;

static void record(j_common_ptr info, jpeg_error_context *context) {
    if (context->message[0] != 0) return;
    char text[JMSG_LENGTH_MAX];
    text[0] = 0;
    (*info->err->format_message)(info, text);
    strncpy(context->message, text, FOVEA_IMG_MESSAGE_SIZE - 1);
    context->message[FOVEA_IMG_MESSAGE_SIZE - 1] = 0;
}

static void jpeg_error_exit_callback(j_common_ptr info) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    int code = info->err->msg_code;
    if (code == JERR_EMPTY_IMAGE) context->empty = 1;
    if (code == JERR_INPUT_EMPTY || code == JERR_INPUT_EOF) context->truncated = 1;
    if (code == JERR_OUT_OF_MEMORY) context->out_of_memory = 1;
    record(info, context);
    longjmp(context->jump, 1);
}

// libjpeg only warns when the data ends early (and pads the image with gray); here that is an
// error, since the image would be partial. Other warnings and trace messages are ignored.
static void jpeg_emit_message_callback(j_common_ptr info, int level) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    if (level < 0) {
        info->err->num_warnings++;
        if (info->err->msg_code == JWRN_JPEG_EOF) {
            context->truncated = 1;
            record(info, context);
            longjmp(context->jump, 1);
        }
    }
}

static void jpeg_output_message_callback(j_common_ptr info) { (void)info; }

static void install(jpeg_error_context *context, char *message) {
    jpeg_std_error(&context->manager);
    context->manager.error_exit = jpeg_error_exit_callback;
    context->manager.emit_message = jpeg_emit_message_callback;
    context->manager.output_message = jpeg_output_message_callback;
    context->message = message;
    context->truncated = 0;
    context->empty = 0;
    context->out_of_memory = 0;
    message[0] = 0;
}

static int failure_status(const jpeg_error_context *context) {
    if (context->truncated) return FOVEA_IMG_TRUNCATED;
    if (context->empty) return FOVEA_IMG_EMPTY_DIMENSIONS;
    if (context->out_of_memory) return FOVEA_IMG_OUT_OF_MEMORY;
    return FOVEA_IMG_CORRUPT;
}

static void set_text(char *message, const char *text) {
    strncpy(message, text, FOVEA_IMG_MESSAGE_SIZE - 1);
    message[FOVEA_IMG_MESSAGE_SIZE - 1] = 0;
}

// Everything the error path reads after longjmp lives on the heap (automatic variables changed
// after setjmp would be indeterminate there).
typedef struct {
    struct jpeg_decompress_struct decoder;
    jpeg_error_context context;
    JSAMPLE *row;
} decode_state;

static int jpeg_run_state(decode_state *s, const uint8_t *data, size_t size, float *out, size_t out_count,
                          fovea_img_info *info, char *message) {
    memset(info, 0, sizeof *info);
    install(&s->context, message);
    s->decoder.err = &s->context.manager;
    if (setjmp(s->context.jump)) {
        info->width = s->decoder.image_width;  // what the header declared, for the error message
        info->height = s->decoder.image_height;
        jpeg_destroy_decompress(&s->decoder);
        free(s->row);
        if (message[0] == 0) set_text(message, "libjpeg error");
        return failure_status(&s->context);
    }
    jpeg_create_decompress(&s->decoder);
    if (size == 0) { s->context.truncated = 1; set_text(message, "empty input"); longjmp(s->context.jump, 1); }
    jpeg_mem_src(&s->decoder, data, (unsigned long)size);
    jpeg_read_header(&s->decoder, TRUE);
    if (s->decoder.num_components == 1) {
        s->decoder.out_color_space = JCS_GRAYSCALE;
    } else if (s->decoder.jpeg_color_space == JCS_YCbCr || s->decoder.jpeg_color_space == JCS_RGB) {
        s->decoder.out_color_space = JCS_RGB;
    } else {
        jpeg_destroy_decompress(&s->decoder);
        set_text(message, "only grayscale and RGB/YCbCr JPEGs are supported (not CMYK/YCCK)");
        return FOVEA_IMG_UNSUPPORTED;
    }
    jpeg_calc_output_dimensions(&s->decoder);
    info->width = s->decoder.output_width;
    info->height = s->decoder.output_height;
    info->channels = s->decoder.output_components;
    info->bit_depth = 8;
    info->interlaced = s->decoder.progressive_mode ? 1 : 0;
    if (out == NULL) {
        jpeg_destroy_decompress(&s->decoder);
        return FOVEA_IMG_OK;
    }
    size_t per_row = (size_t)info->width * (size_t)info->channels;
    if (info->width == 0 || info->height == 0 || per_row * info->height != out_count) {
        jpeg_destroy_decompress(&s->decoder);
        set_text(message, "output buffer does not match the image");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    s->row = (JSAMPLE *)malloc(per_row);
    if (s->row == NULL) {
        jpeg_destroy_decompress(&s->decoder);
        set_text(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    jpeg_start_decompress(&s->decoder);
    if ((size_t)s->decoder.output_width * (size_t)s->decoder.output_components != per_row) {
        jpeg_destroy_decompress(&s->decoder);
        free(s->row);
        set_text(message, "output dimensions changed while decoding");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    while (s->decoder.output_scanline < s->decoder.output_height) {
        size_t y = s->decoder.output_scanline;
        JSAMPROW rows[1] = { s->row };
        if (jpeg_read_scanlines(&s->decoder, rows, 1) != 1) {
            jpeg_destroy_decompress(&s->decoder);
            free(s->row);
            set_text(message, "could not read scanline");
            return FOVEA_IMG_TRUNCATED;
        }
        float *target = out + y * per_row;
        for (size_t i = 0; i < per_row; i++) target[i] = (float)s->row[i];
    }
    jpeg_finish_decompress(&s->decoder);
    jpeg_destroy_decompress(&s->decoder);
    free(s->row);
    return FOVEA_IMG_OK;
}

static int jpeg_run(const uint8_t *data, size_t size, float *out, size_t out_count,
                    fovea_img_info *info, char *message) {
    decode_state *state = (decode_state *)calloc(1, sizeof(decode_state));
    if (state == NULL) {
        message[0] = 0;
        set_text(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    int status = jpeg_run_state(state, data, size, out, out_count, info, message);
    free(state);
    return status;
}

int fovea_jpeg_info(const uint8_t *data, size_t size, fovea_img_info *info, char *message) {
    return jpeg_run(data, size, NULL, 0, info, message);
}

int fovea_jpeg_decode(const uint8_t *data, size_t size, float *out, size_t out_count,
                      fovea_img_info *info, char *message) {
    if (out == NULL) { set_text(message, "no output buffer"); return FOVEA_IMG_BAD_ARGUMENT; }
    return jpeg_run(data, size, out, out_count, info, message);
}

// A growable in-memory destination (owned here, so it can be freed after an error).
typedef struct {
    struct jpeg_destination_mgr manager;  // first member
    JOCTET *buffer;
    size_t capacity;
    size_t length;
} memory_destination;

static void destination_init(j_compress_ptr encoder) {
    memory_destination *destination = (memory_destination *)encoder->dest;
    size_t capacity = 65536;
    destination->buffer = (JOCTET *)malloc(capacity);
    if (destination->buffer == NULL) ERREXIT1(encoder, JERR_OUT_OF_MEMORY, 0);
    destination->capacity = capacity;
    destination->manager.next_output_byte = destination->buffer;
    destination->manager.free_in_buffer = capacity;
}

static boolean destination_empty(j_compress_ptr encoder) {
    memory_destination *destination = (memory_destination *)encoder->dest;
    size_t old_capacity = destination->capacity;
    if (old_capacity > ((size_t)-1) / 2) ERREXIT1(encoder, JERR_OUT_OF_MEMORY, 1);
    JOCTET *grown = (JOCTET *)realloc(destination->buffer, old_capacity * 2);
    if (grown == NULL) ERREXIT1(encoder, JERR_OUT_OF_MEMORY, 1);
    destination->buffer = grown;
    destination->capacity = old_capacity * 2;
    destination->manager.next_output_byte = grown + old_capacity;
    destination->manager.free_in_buffer = old_capacity;
    return TRUE;
}

static void destination_term(j_compress_ptr encoder) {
    memory_destination *destination = (memory_destination *)encoder->dest;
    destination->length = destination->capacity - destination->manager.free_in_buffer;
}

typedef struct {
    struct jpeg_compress_struct encoder;
    jpeg_error_context context;
    memory_destination destination;
} encode_state;

static int jpeg_encode_state(encode_state *s, const uint8_t *pixels, uint32_t width, uint32_t height,
                             int channels, int quality, int progressive, uint8_t **out, size_t *out_size,
                             char *message) {
    *out = NULL;
    *out_size = 0;
    message[0] = 0;
    if (channels != 1 && channels != 3) {
        set_text(message, "JPEG needs 1 (gray) or 3 (RGB) channels");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        set_text(message, "JPEG width and height must be between 1 and 65500");
        return FOVEA_IMG_BAD_ARGUMENT;
    }
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;

    install(&s->context, message);
    s->encoder.err = &s->context.manager;
    if (setjmp(s->context.jump)) {
        jpeg_destroy_compress(&s->encoder);
        free(s->destination.buffer);
        if (message[0] == 0) set_text(message, "libjpeg error");
        return s->context.out_of_memory ? FOVEA_IMG_OUT_OF_MEMORY : FOVEA_IMG_ENCODE_FAILED;
    }
    jpeg_create_compress(&s->encoder);
    s->destination.manager.init_destination = destination_init;
    s->destination.manager.empty_output_buffer = destination_empty;
    s->destination.manager.term_destination = destination_term;
    s->encoder.dest = &s->destination.manager;
    s->encoder.image_width = width;
    s->encoder.image_height = height;
    s->encoder.input_components = channels;
    s->encoder.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&s->encoder);
    jpeg_set_quality(&s->encoder, quality, TRUE);
    if (progressive) jpeg_simple_progression(&s->encoder);
    jpeg_start_compress(&s->encoder, TRUE);
    size_t per_row = (size_t)width * (size_t)channels;
    while (s->encoder.next_scanline < s->encoder.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)s->encoder.next_scanline * per_row) };
        jpeg_write_scanlines(&s->encoder, rows, 1);
    }
    jpeg_finish_compress(&s->encoder);
    jpeg_destroy_compress(&s->encoder);
    *out = s->destination.buffer;
    *out_size = s->destination.length;
    return FOVEA_IMG_OK;
}

int fovea_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      int quality, int progressive, uint8_t **out, size_t *out_size, char *message) {
    encode_state *state = (encode_state *)calloc(1, sizeof(encode_state));
    if (state == NULL) {
        *out = NULL;
        *out_size = 0;
        set_text(message, "out of memory");
        return FOVEA_IMG_OUT_OF_MEMORY;
    }
    int status = jpeg_encode_state(state, pixels, width, height, channels, quality, progressive, out, out_size, message);
    free(state);
    return status;
}
