/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/* Monotonic clock and latency percentiles for the vgpu-unmap demo. */
#ifndef VGPU_STATS_H
#define VGPU_STATS_H

#include <stdint.h>
#include <glib.h>

typedef struct VgpuLatency {
    unsigned count;
    int64_t min_ns;
    int64_t p50_ns;
    int64_t p90_ns;
    int64_t p99_ns;
    int64_t max_ns;
    int64_t mean_ns;
} VgpuLatency;

int64_t vgpu_clock_ns(void);

/* Summarises an array of int64_t nanoseconds (nearest-rank percentiles). */
void vgpu_latency_summarize(const GArray *samples_ns, VgpuLatency *out);

#endif /* VGPU_STATS_H */
