#include "common/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void slate_diag_init(slate_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void slate_diag_cleanup(slate_diag *d)
{
    if (d == NULL)
        return;
    free(d->entries);
    memset(d, 0, sizeof(*d));
}

void slate_diag_clear(slate_diag *d)
{
    if (d == NULL)
        return;
    d->n = 0;
    d->dropped = 0;
}

void slate_diag_add(slate_diag *d, int code, const char *path, const char *fmt, ...)
{
    if (d == NULL)
        return;
    if (d->n >= SLATE_DIAG_MAX_ENTRIES) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        slate_diag_entry *e = realloc(d->entries, cap * sizeof(*e));
        if (e == NULL) {
            d->dropped++;
            return;
        }
        d->entries = e;
        d->cap = cap;
    }
    slate_diag_entry *e = &d->entries[d->n++];
    e->code = code;
    snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

size_t slate_diag_count(const slate_diag *d)
{
    return d ? d->n + d->dropped : 0;
}

const slate_diag_entry *slate_diag_find(const slate_diag *d, const char *needle)
{
    if (d == NULL || needle == NULL)
        return NULL;
    for (size_t i = 0; i < d->n; i++) {
        if (strstr(d->entries[i].msg, needle) || strstr(d->entries[i].path, needle))
            return &d->entries[i];
    }
    return NULL;
}

void slate_diag_print(const slate_diag *d, FILE *fp)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++) {
        const slate_diag_entry *e = &d->entries[i];
        if (e->path[0])
            fprintf(fp, "%s: %s\n", e->path, e->msg);
        else
            fprintf(fp, "%s\n", e->msg);
    }
    if (d->dropped)
        fprintf(fp, "(%zu more problems not shown)\n", d->dropped);
}
