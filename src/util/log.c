/* Logging to stderr at the level TPMTOK_LOG sets (default: errors only). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

static enum log_level current_level = LOG_ERROR;

static const char *const level_names[] = { "none", "error", "warn", "info", "debug" };

static enum log_level parse_level(const char *s)
{
    if (s == NULL || *s == '\0')
        return LOG_ERROR;
    if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
        return (enum log_level)(s[0] - '0');
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (enum log_level)i;
    return LOG_ERROR;
}

void log_init(void)
{
#ifdef HAVE_SECURE_GETENV
    current_level = parse_level(secure_getenv("TPMTOK_LOG"));
#else
    current_level = parse_level(getenv("TPMTOK_LOG"));
#endif
}

enum log_level log_level_get(void)
{
    return current_level;
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > current_level || level == LOG_NONE)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines from different threads whole. */
    fprintf(stderr, "tpmtok %s: %s: %s\n", level_names[level], func, line);
}
