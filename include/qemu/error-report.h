/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error reporting with QEMU's names: error_report(), warn_report(),
 * info_report().  Each message is one line on stderr, prefixed with the
 * program name (g_get_prgname(), set by error_init() or g_set_prgname())
 * when there is one, then "warning: " or "info: " for those levels.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#ifndef QEMU_ERROR_REPORT_H
#define QEMU_ERROR_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <glib.h>

int error_vprintf(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);
int error_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

void error_vreport(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);
void warn_vreport(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);
void info_vreport(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);

void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

bool error_report_once_cond(bool *printed, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
bool warn_report_once_cond(bool *printed, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* Sets the program name that prefixes messages to basename(@argv0). */
void error_init(const char *argv0);

/* Report at most once per call site; true if this call printed. */
#define error_report_once(fmt, ...)                                  \
    ({                                                               \
        static bool print_once_;                                     \
        error_report_once_cond(&print_once_, fmt, ##__VA_ARGS__);    \
    })

#define warn_report_once(fmt, ...)                                   \
    ({                                                               \
        static bool print_once_;                                     \
        warn_report_once_cond(&print_once_, fmt, ##__VA_ARGS__);     \
    })

#endif /* QEMU_ERROR_REPORT_H */
