/* Logging: one level read once from TPMTOK_LOG, printf-checked messages to stderr. Never log secrets. */
#ifndef TPMTOK_LOG_H
#define TPMTOK_LOG_H

enum log_level {
    LOG_NONE = 0,
    LOG_ERROR = 1,
    LOG_WARN = 2,
    LOG_INFO = 3,
    LOG_DEBUG = 4,
};

/* Reads TPMTOK_LOG (none|error|warn|info|debug or 0-4); safe to call more than once. */
void log_init(void);
enum log_level log_level_get(void);
void log_msg(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
