/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * TCG-like vCPU threads.
 *
 * A vCPU spends its life inside rcu_read_lock(), walking the memory map
 * it cached when it entered (as TCG keeps using the dispatch it cached
 * until it leaves cpu_exec()).  Its force_rcu notifier only requests an
 * exit: it sets exit_request, which the vCPU polls, like QEMU's
 * mttcg_force_rcu() -> async_run_on_cpu() -> cpu_exit().  The vCPU then
 * leaves its critical section, takes the BQL to handle the request, and
 * re-enters with a fresh map.
 *
 * Optionally it also takes the BQL *inside* its critical section, as
 * TCG does for device MMIO (prepare_mmio_access()).  That is safe only
 * because nobody waits for a grace period while holding the BQL.
 */
#ifndef VGPU_VCPU_H
#define VGPU_VCPU_H

#include "qemu/notify.h"
#include "qemu/stats64.h"
#include "qemu/thread.h"
#include "vgpu-memory.h"
#include "vgpu-trace.h"

typedef struct VgpuVcpuStats {
    uint64_t sections;          /* read-side critical sections entered */
    uint64_t walks;             /* walks of the memory map */
    uint64_t kicks;             /* force_rcu notifications received */
    uint64_t kick_exits;        /* sections left because of a kick */
    uint64_t own_exits;         /* sections left when section_ns expired */
    uint64_t mmio;              /* BQL taken inside a critical section */
    uint64_t violations;        /* finalized regions seen */
    int64_t max_section_ns;
    /*
     * Longest time between two polls of exit_request: the vCPU was
     * descheduled or waiting for the BQL, and could not see a kick.
     */
    int64_t max_poll_gap_ns;
} VgpuVcpuStats;

typedef struct VgpuVcpu {
    unsigned index;
    VgpuAddressSpace *as;
    bool use_notifier;
    int64_t section_ns;         /* leave on its own after this; 0: never */
    int64_t mmio_interval_ns;   /* 0: no MMIO */

    VgpuTracer *tracer;         /* NULL unless --breakdown */

    QemuThread thread;
    Notifier force_rcu;
    bool exit_request;
    bool stop;
    VgpuFlatView *in_use;       /* the cached map, NULL outside sections */
    Stat64 seen_gen;            /* generation of the last map cached */
    uint64_t checksum;
    /* VgpuVcpuStats as counters other threads may read, on any host. */
    struct {
        Stat64 sections, walks, kicks, kick_exits, own_exits, mmio;
        Stat64 violations, max_section_ns, max_poll_gap_ns;
    } stats;
} VgpuVcpu;

/* Before any reader runs: registers the vCPU's map slot with @as. */
void vgpu_vcpu_init(VgpuVcpu *cpu, unsigned index, VgpuAddressSpace *as,
                    bool use_notifier, unsigned section_ms, unsigned mmio_us);
/* Before vgpu_vcpu_start(): stamp unmap traces (vgpu-trace.h). */
void vgpu_vcpu_set_tracer(VgpuVcpu *cpu, VgpuTracer *tracer);
void vgpu_vcpu_start(VgpuVcpu *cpu);
void vgpu_vcpu_stop(VgpuVcpu *cpu);

uint64_t vgpu_vcpu_seen_gen(VgpuVcpu *cpu);
void vgpu_vcpu_get_stats(VgpuVcpu *cpu, VgpuVcpuStats *stats);

#endif /* VGPU_VCPU_H */
