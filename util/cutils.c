/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu_strtoui(), qemu_strtoul(), qemu_strtou64(): strtoull() with the
 * error handling every caller would otherwise repeat (see qemu/cutils.h
 * for the contract, which is QEMU's).
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

/*
 * Parses an unsigned number no larger than @max.  @max below
 * ULLONG_MAX makes the narrow types independent of the width of long:
 * the magnitude is range-checked before a leading '-' is applied.
 */
static int parse_unsigned(const char *nptr, const char **endptr, int base,
                          unsigned long long max, unsigned long long *result)
{
    unsigned long long val;
    char *end;
    int err;

    assert(base == 0 || (base >= 2 && base <= 36));
    if (!nptr) {
        *result = 0;
        if (endptr) {
            *endptr = nptr;
        }
        return -EINVAL;
    }

    errno = 0;
    val = strtoull(nptr, &end, base);
    err = errno;
    if (end == nptr) {
        /* glibc may set EINVAL here; "no conversion" is always EINVAL. */
        *result = 0;
        if (endptr) {
            *endptr = nptr;
        }
        return -EINVAL;
    }
    if (err == ERANGE) {
        val = max;
    } else if (max != ULLONG_MAX) {
        bool neg = memchr(nptr, '-', end - nptr) != NULL;
        unsigned long long mag = neg ? -val : val;

        if (mag > max) {
            val = max;
            err = ERANGE;
        } else {
            val = neg ? (max - mag + 1) & max : mag;
        }
    }
    *result = val;

    if (endptr) {
        *endptr = end;
    } else if (*end) {
        return -EINVAL;
    }
    return -err;
}

int qemu_strtoui(const char *nptr, const char **endptr, int base,
                 unsigned int *result)
{
    unsigned long long val;
    int ret = parse_unsigned(nptr, endptr, base, UINT_MAX, &val);

    *result = val;
    return ret;
}

int qemu_strtoul(const char *nptr, const char **endptr, int base,
                 unsigned long *result)
{
    unsigned long long val;
    int ret = parse_unsigned(nptr, endptr, base, ULONG_MAX, &val);

    *result = val;
    return ret;
}

int qemu_strtou64(const char *nptr, const char **endptr, int base,
                  uint64_t *result)
{
    unsigned long long val;
    int ret = parse_unsigned(nptr, endptr, base, UINT64_MAX, &val);

    *result = val;
    return ret;
}
