/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Clocks, sorting and nearest-rank percentiles for the benchmarks and
 * the vgpu-unmap demo, and, when json-glib is included first, JSON
 * members.  Header-only and C-library-only (no GLib, no libm), so that
 * every implementation's benchmark, QEMU's own rcu.c and liburcu
 * included, is built with the very same code.
 */
#ifndef QEMU_RCU_BENCH_UTIL_H
#define QEMU_RCU_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* @clock in nanoseconds: CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ... */
static inline int64_t bench_clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * Index of the nearest-rank @pct percentile of @n > 0 sorted samples:
 * the smallest sample that at least @pct percent of them do not exceed.
 */
static inline size_t bench_rank_index(size_t n, double pct)
{
    double exact = pct * n / 100.0;
    size_t rank = (size_t)exact;

    if (rank < exact) {
        rank++;
    }
    return rank < 1 ? 0 : rank > n ? n - 1 : rank - 1;
}

/* Sorts @v in place and returns its @pct percentile; @n > 0. */
static inline int64_t bench_percentile_i64(int64_t *v, size_t n, double pct)
{
    qsort(v, n, sizeof(*v), bench_cmp_i64);
    return v[bench_rank_index(n, pct)];
}

static inline double bench_percentile_double(double *v, size_t n, double pct)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return v[bench_rank_index(n, pct)];
}

#ifdef __JSON_GLIB_H__
#include <math.h>

/* A member whose value is @v, or null when @v is not finite. */
static inline void bench_json_number(JsonBuilder *b, const char *name,
                                     double v)
{
    json_builder_set_member_name(b, name);
    if (isfinite(v)) {
        json_builder_add_double_value(b, v);
    } else {
        json_builder_add_null_value(b);
    }
}

static inline void bench_json_int(JsonBuilder *b, const char *name,
                                  int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

static inline void bench_json_bool(JsonBuilder *b, const char *name,
                                   bool v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, v);
}

static inline void bench_json_string(JsonBuilder *b, const char *name,
                                     const char *v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, v);
}
#endif /* __JSON_GLIB_H__ */

#endif /* QEMU_RCU_BENCH_UTIL_H */
