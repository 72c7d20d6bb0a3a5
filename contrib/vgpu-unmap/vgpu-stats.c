/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "vgpu-stats.h"
#include "bench-util.h"

int64_t vgpu_clock_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
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
    qsort(s, n, sizeof(int64_t), bench_cmp_i64);
    for (unsigned i = 0; i < n; i++) {
        sum += s[i];
    }
    out->count = n;
    out->min_ns = s[0];
    out->p50_ns = s[bench_rank_index(n, 50)];
    out->p90_ns = s[bench_rank_index(n, 90)];
    out->p99_ns = s[bench_rank_index(n, 99)];
    out->max_ns = s[n - 1];
    out->mean_ns = sum / n;
}
