/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The whole scenario: a main loop, a memory map with a RAM region, the
 * device, TCG-like vCPUs and a device thread that maps a blob, waits
 * until every vCPU has seen it, unmaps it and times the unmap until its
 * replayed command completes.
 */
#ifndef VGPU_MACHINE_H
#define VGPU_MACHINE_H

#include "qemu/rcu-ext.h"
#include "vgpu-stats.h"
#include "vgpu-trace.h"
#include "vgpu-vcpu.h"

typedef struct VgpuProgress {
    unsigned done;
    unsigned total;             /* 0 when the run is bounded by time */
    int64_t elapsed_ns;
    int64_t last_ns;            /* latency of the last unmap */
} VgpuProgress;

typedef struct VgpuConfig {
    unsigned vcpus;
    unsigned unmaps;            /* 0: until duration_ms */
    unsigned duration_ms;       /* 0: until unmaps are done */
    size_t region_size;
    bool kick;                  /* vCPUs have force_rcu notifiers */
    unsigned section_ms;        /* vCPUs leave sections on their own */
    unsigned mmio_us;           /* vCPUs take the BQL inside sections */
    unsigned bql_hold_us;       /* device keeps the BQL after an unmap */
    bool drain_under_bql;       /* ... and calls drain_call_rcu() with it */
    bool force_on_unmap;        /* UNMAP_BLOB calls force_rcu() */
    bool breakdown;             /* trace every unmap (vgpu-trace.h) */
    unsigned deadline_ms;
    unsigned hang_ms;           /* an unmap this late counts as hung */
    bool keep_finalized;        /* see vgpu_device_new() */
    void (*progress)(const VgpuProgress *p, void *opaque);
    void *progress_opaque;
} VgpuConfig;

typedef struct VgpuResult {
    unsigned unmaps;            /* completed */
    unsigned missed_deadline;
    bool hung;                  /* an unmap or a map took over hang_ms */
    GArray *latency_ns;         /* int64_t per unmap, in order */
    VgpuLatency latency;
    int64_t elapsed_ns;
    int64_t max_drain_ns;       /* drain_under_bql only */
    RcuStats rcu;               /* during the run */
    /*
     * rcu.max_grace_period_ns is a process-wide maximum: it describes
     * this run only if it grew during the run (in practice, always in
     * the first run of a process).
     */
    bool max_grace_period_in_run;
    VgpuVcpuStats vcpu;         /* summed over the vCPUs */
    uint64_t blobs_finalized;
    uint64_t regions_finalized; /* blobs and the RAM region */
    uint64_t finalize_errors;
    uint64_t suspends;
    uint64_t replays;
    uint64_t resumes;
    uint64_t force_rcus;        /* force_rcu() calls by the device */
    /* With cfg->breakdown: VgpuUnmapTrace * per completed unmap. */
    GPtrArray *traces;
    VgpuBreakdown breakdown;
} VgpuResult;

void vgpu_config_init(VgpuConfig *cfg);

/*
 * Runs the scenario.  Returns false if it hung; the machine is then left
 * running (it cannot be torn down safely) and the caller should exit.
 * Free the result with vgpu_result_clear().
 */
bool vgpu_machine_run(const VgpuConfig *cfg, VgpuResult *res);
void vgpu_result_clear(VgpuResult *res);

#endif /* VGPU_MACHINE_H */
