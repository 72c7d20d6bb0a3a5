/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * error_report() and friends for the standalone library.  A QEMU build
 * links QEMU's own util/error-report.c instead, which adds locations,
 * timestamps and the monitor; the line format of a plain message is the
 * same: "<prgname>: [warning: |info: ]<message>\n".
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"

typedef enum {
    REPORT_ERROR,
    REPORT_WARNING,
    REPORT_INFO,
} ReportType;

int error_vprintf(const char *fmt, va_list ap)
{
    return vfprintf(stderr, fmt, ap);
}

int error_printf(const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = error_vprintf(fmt, ap);
    va_end(ap);
    return ret;
}

static void vreport(ReportType type, const char *fmt, va_list ap)
{
    static const char *const level[] = {
        [REPORT_ERROR] = "",
        [REPORT_WARNING] = "warning: ",
        [REPORT_INFO] = "info: ",
    };
    const char *prg = g_get_prgname();
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    /*
     * One fprintf per message: stderr is unbuffered, and messages from
     * several threads (the call_rcu thread's stall warning, a caller's
     * error) must not interleave within a line.
     */
    fprintf(stderr, "%s%s%s%s\n", prg ? prg : "", prg ? ": " : "",
            level[type], msg);
}

void error_vreport(const char *fmt, va_list ap)
{
    vreport(REPORT_ERROR, fmt, ap);
}

void warn_vreport(const char *fmt, va_list ap)
{
    vreport(REPORT_WARNING, fmt, ap);
}

void info_vreport(const char *fmt, va_list ap)
{
    vreport(REPORT_INFO, fmt, ap);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(REPORT_ERROR, fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(REPORT_WARNING, fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(REPORT_INFO, fmt, ap);
    va_end(ap);
}

/*
 * The flag is claimed with an atomic exchange so that two threads
 * reaching the same call site print the message once between them;
 * relaxed, because the flag publishes no other data.
 */
bool error_report_once_cond(bool *printed, const char *fmt, ...)
{
    va_list ap;

    if (__atomic_exchange_n(printed, true, __ATOMIC_RELAXED)) {
        return false;
    }
    va_start(ap, fmt);
    vreport(REPORT_ERROR, fmt, ap);
    va_end(ap);
    return true;
}

bool warn_report_once_cond(bool *printed, const char *fmt, ...)
{
    va_list ap;

    if (__atomic_exchange_n(printed, true, __ATOMIC_RELAXED)) {
        return false;
    }
    va_start(ap, fmt);
    vreport(REPORT_WARNING, fmt, ap);
    va_end(ap);
    return true;
}

void error_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    g_set_prgname(slash ? slash + 1 : argv0);
}
