#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void slate_buf_init(slate_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void slate_buf_cleanup(slate_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static int reserve(slate_buf *b, size_t extra)
{
    if (b->failed)
        return SLATE_ERR_NOMEM;
    if (b->len + extra + 1 <= b->cap)
        return SLATE_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->failed = 1;
        return SLATE_ERR_NOMEM;
    }
    b->data = d;
    b->cap = cap;
    return SLATE_OK;
}

int slate_buf_append(slate_buf *b, const char *s, size_t len)
{
    if (reserve(b, len) != SLATE_OK)
        return SLATE_ERR_NOMEM;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return SLATE_OK;
}

int slate_buf_printf(slate_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SLATE_ERR_INVALID_ARG;
    if (reserve(b, (size_t)n) != SLATE_OK)
        return SLATE_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SLATE_OK;
}

char *slate_buf_detach(slate_buf *b)
{
    if (b->failed) {
        slate_buf_cleanup(b);
        return NULL;
    }
    if (b->data == NULL && reserve(b, 0) != SLATE_OK)
        return NULL;
    if (b->len == 0)
        b->data[0] = '\0';
    char *d = b->data;
    memset(b, 0, sizeof(*b));
    return d;
}
