/*
 * slate-controller's HTTP handlers (api.c, metrics.c) and the reply helpers
 * they share with the libmicrohttpd plumbing (server.c). Internal to the
 * daemon.
 */
#ifndef SLATE_CONTROLLER_API_H
#define SLATE_CONTROLLER_API_H

#include <stddef.h>

#include <microhttpd.h>

#include "common/diag.h"
#include "controller/ctl.h"

/* Per-request state, owned by server.c (MHD's con_cls). */
typedef struct slate_req {
    char *body; /* owned, NUL-terminated */
    size_t len, cap;
    int too_large;
    slate_waiter waiter; /* long-poll registration */
    int waiting;         /* 1 while registered in the ctl's waiter list */
    int waited;          /* 1 once resumed from a wait */
} slate_req;

/* Queues a reply with |body| (copied) and |content_type|. */
enum MHD_Result slate_reply(struct MHD_Connection *conn, unsigned code, const char *content_type,
                            const char *body, size_t len);
/* Queues a JSON reply, taking ownership of |body| (malloc'd). */
enum MHD_Result slate_reply_json_owned(struct MHD_Connection *conn, unsigned code, char *body);
/* Queues {"error": msg, "path": path, "problems": [...from d...]}. */
enum MHD_Result slate_reply_error(struct MHD_Connection *conn, unsigned code, const char *msg,
                                  const char *path, const slate_diag *d);

/* Handlers: |path| is the URL path, the request body (if any) is in |r|. */
enum MHD_Result slate_api_dispatch(slate_ctl *c, struct MHD_Connection *conn, const char *method,
                                   const char *path, slate_req *r);
enum MHD_Result slate_api_metrics(slate_ctl *c, struct MHD_Connection *conn);

/* Suspends |conn| until a version newer than |version| is published or
 * |wait_s| passes. Returns 1 when suspended, 0 when a newer version exists
 * already (answer now). */
int slate_server_wait(slate_ctl *c, struct MHD_Connection *conn, slate_req *r, uint64_t version,
                      double wait_s);

#endif
