/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "vgpu-stats.h"

int64_t vgpu_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static gint cmp_i64(gconstpointer a, gconstpointer b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The smallest sample with at least pct percent of samples <= it. */
static int64_t percentile(const int64_t *sorted, unsigned n, unsigned pct)
{
    unsigned rank = (pct * n + 99) / 100;

    return sorted[MAX(rank, 1) - 1];
}

void vgpu_latency_summarize(const GArray *samples_ns, VgpuLatency *out)
{
    unsigned n = samples_ns->len;
    g_autofree int64_t *s = NULL;
    int64_t sum = 0;

    memset(out, 0, sizeof(*out));
    if (!n) {
        return;
    }
    s = g_memdup2(samples_ns->data, n * sizeof(int64_t));
    qsort(s, n, sizeof(int64_t), cmp_i64);
    for (unsigned i = 0; i < n; i++) {
        sum += s[i];
    }
    out->count = n;
    out->min_ns = s[0];
    out->p50_ns = percentile(s, n, 50);
    out->p90_ns = percentile(s, n, 90);
    out->p99_ns = percentile(s, n, 99);
    out->max_ns = s[n - 1];
    out->mean_ns = sum / n;
}
