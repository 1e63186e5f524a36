/*
 * A growable text buffer for building output (tables, YAML, exposition text).
 * The buffer owns its bytes; the text is always NUL-terminated.
 */
#ifndef SLATE_COMMON_BUF_H
#define SLATE_COMMON_BUF_H

#include <stddef.h>

typedef struct slate_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends do nothing */
} slate_buf;

void slate_buf_init(slate_buf *b);
void slate_buf_cleanup(slate_buf *b);

/* Appends formatted text. Returns SLATE_OK or SLATE_ERR_NOMEM (sticky). */
int slate_buf_printf(slate_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends |len| bytes of |s| (borrowed). */
int slate_buf_append(slate_buf *b, const char *s, size_t len);

/*
 * Hands the text to the caller (returns owned, free with free()) and resets
 * |b|. Returns NULL if any append failed (the text is then discarded) or
 * nothing was appended and allocation of "" failed.
 */
char *slate_buf_detach(slate_buf *b);

#endif
