/*
 * slate error codes.
 *
 * One enum for the whole project: SLATE_OK is 0, errors are negative, each
 * module owns a range of a hundred, and a number once used is never reused.
 * The enum and slate_strerror() are generated from the one X-macro list below
 * so the two cannot drift apart.
 */
#ifndef SLATE_COMMON_ERR_H
#define SLATE_COMMON_ERR_H

/* X(name, value, message) */
#define SLATE_ERR_LIST(X)                                                                 \
    X(SLATE_OK, 0, "success")                                                             \
    /* common: -1 .. -99 */                                                               \
    X(SLATE_ERR_NOMEM, -1, "out of memory")                                               \
    X(SLATE_ERR_INVALID_ARG, -2, "invalid argument")                                      \
    X(SLATE_ERR_IO, -3, "input/output error")                                             \
    X(SLATE_ERR_TOO_LARGE, -4, "input exceeds a size limit")                              \
    X(SLATE_ERR_PARSE, -5, "malformed JSON")                                              \
    X(SLATE_ERR_NOT_FOUND, -6, "not found")                                               \
    X(SLATE_ERR_RANGE, -7, "value out of range")                                          \
    X(SLATE_ERR_REPORT_INVALID, -8, "sidecar report is invalid")                          \
    X(SLATE_ERR_UNAUTHORIZED, -9, "missing or wrong bearer token")                        \
    X(SLATE_ERR_TIMEOUT, -10, "operation timed out")                                      \
    /* topology: -100 .. -199 */                                                          \
    X(SLATE_ERR_TOPOLOGY_INVALID, -100, "topology is invalid")                            \
    /* profiles: -200 .. -299 */                                                          \
    X(SLATE_ERR_PROFILE_INVALID, -200, "latency profile is invalid")                      \
    X(SLATE_ERR_FIT_INSUFFICIENT, -201, "too few usable samples to fit a profile")        \
    /* optimizer: -300 .. -399 */                                                         \
    X(SLATE_ERR_SOLVE_FAILED, -300, "LP solver failed")                                   \
    X(SLATE_ERR_SOLVE_LIMIT, -301, "LP solver hit its time or iteration limit")           \
    X(SLATE_ERR_NO_SOLUTION, -302, "no solution is available yet")                        \
    X(SLATE_ERR_INFEASIBLE, -303, "LP is infeasible")                                     \
    /* controller daemon: -400 .. -499 */                                                 \
    X(SLATE_ERR_STATE_CORRUPT, -400, "persisted state file is corrupt")                   \
    X(SLATE_ERR_CONFIG_INVALID, -401, "configuration is invalid")                         \
    /* sidecar: -500 .. -599 */                                                           \
    X(SLATE_ERR_HTTP, -500, "malformed HTTP message")                                     \
    X(SLATE_ERR_SPANS_INVALID, -501, "span payload is invalid")                           \
    X(SLATE_ERR_UPSTREAM, -502, "upstream failed")                                        \
    /* sim: -600 .. -699 */                                                               \
    X(SLATE_ERR_SCENARIO_INVALID, -600, "simulation scenario is invalid")

typedef enum slate_err {
#define SLATE_ERR_ENUM(name, value, msg) name = value,
    SLATE_ERR_LIST(SLATE_ERR_ENUM)
#undef SLATE_ERR_ENUM
} slate_err;

/* Returns a static, human-readable message for |code|; never NULL. */
const char *slate_strerror(int code);

/* Returns the enum's name for |code| ("SLATE_ERR_NOMEM"), or "SLATE_ERR_UNKNOWN". */
const char *slate_errname(int code);

#endif
