/*
 * Diagnostics: the list of every problem found in one input.
 *
 * A validator does not stop at the first problem: a topology author (or a
 * REST client) wants them all, each with the JSON path it refers to
 * ("classes[2].calls.children[0].service") and a message
 * ("unknown service \"cartt\""). The caller owns the slate_diag (init /
 * cleanup); passing NULL where a function takes one is allowed and discards
 * the detail.
 */
#ifndef SLATE_COMMON_DIAG_H
#define SLATE_COMMON_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* Bounds chosen so a hostile input cannot make the list itself unbounded. */
#define SLATE_DIAG_PATH_MAX 256
#define SLATE_DIAG_MSG_MAX 256
#define SLATE_DIAG_MAX_ENTRIES 1000

typedef struct slate_diag_entry {
    int code;                       /* a slate_err value */
    char path[SLATE_DIAG_PATH_MAX]; /* JSON path, "" for the whole document */
    char msg[SLATE_DIAG_MSG_MAX];
} slate_diag_entry;

typedef struct slate_diag {
    slate_diag_entry *entries; /* owned */
    size_t n;
    size_t cap;
    size_t dropped; /* problems past SLATE_DIAG_MAX_ENTRIES, counted not kept */
} slate_diag;

void slate_diag_init(slate_diag *d);
void slate_diag_cleanup(slate_diag *d);
/* Forgets every entry, keeps the allocation. */
void slate_diag_clear(slate_diag *d);

/*
 * Records one problem. |d| may be NULL (then nothing happens). |path| may be
 * NULL for the whole document. Messages longer than the bounds are truncated.
 * Out of memory while recording counts the entry as dropped.
 */
void slate_diag_add(slate_diag *d, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns the number of problems recorded, including dropped ones. */
size_t slate_diag_count(const slate_diag *d);

/* Returns the first entry whose message or path contains |needle|, or NULL. */
const slate_diag_entry *slate_diag_find(const slate_diag *d, const char *needle);

/* Prints one line per entry, "path: message", to |fp|. */
void slate_diag_print(const slate_diag *d, FILE *fp);

#endif
