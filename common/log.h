/*
 * Structured log lines on stderr: "ts=2026-11-22T10:00:00.123Z level=info
 * msg=...". One line per event so log collectors can split them. The level
 * threshold is process-wide and set once at start-up (not thread-safe to
 * change while other threads log).
 */
#ifndef SLATE_COMMON_LOG_H
#define SLATE_COMMON_LOG_H

typedef enum slate_log_level {
    SLATE_LOG_DEBUG = 0,
    SLATE_LOG_INFO = 1,
    SLATE_LOG_WARN = 2,
    SLATE_LOG_ERROR = 3,
    SLATE_LOG_OFF = 4
} slate_log_level;

void slate_log_set_level(slate_log_level level);
slate_log_level slate_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int slate_log_level_parse(const char *s);

void slate_log(slate_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SLATE_DEBUG(...) slate_log(SLATE_LOG_DEBUG, __VA_ARGS__)
#define SLATE_INFO(...) slate_log(SLATE_LOG_INFO, __VA_ARGS__)
#define SLATE_WARN(...) slate_log(SLATE_LOG_WARN, __VA_ARGS__)
#define SLATE_ERROR(...) slate_log(SLATE_LOG_ERROR, __VA_ARGS__)

#endif
