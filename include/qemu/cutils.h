/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Number parsing with QEMU's names and contract (qemu/cutils.h):
 *
 * - return 0 on success, -EINVAL if nothing was converted (then
 *   *result is 0 and *endptr is @nptr) or if @endptr is NULL and the
 *   number is followed by anything but the end of the string (then
 *   *result holds the parsed value), -ERANGE on overflow (then *result
 *   is the type's maximum);
 * - @nptr may be NULL: -EINVAL, nothing converted;
 * - as with strtoul(), a leading '-' negates the magnitude in the
 *   result's type, so "-1" gives the maximum value; for the sizes
 *   narrower than 64 bits the magnitude must fit before negation, which
 *   makes them behave the same on 32- and 64-bit hosts;
 * - @base is 0 or 2..36, as for strtoul().
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#ifndef QEMU_CUTILS_H
#define QEMU_CUTILS_H

#include <stdint.h>

int qemu_strtoui(const char *nptr, const char **endptr, int base,
                 unsigned int *result);
int qemu_strtoul(const char *nptr, const char **endptr, int base,
                 unsigned long *result);
int qemu_strtou64(const char *nptr, const char **endptr, int base,
                  uint64_t *result);

#endif /* QEMU_CUTILS_H */
