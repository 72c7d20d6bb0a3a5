/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Where an unmap's time goes (vgpu-unmap --breakdown).  While an unmap
 * is in flight, the threads that take part in it stamp its record with
 * the demo's own clock, each stamp once:
 *
 *   submit      the device thread, before it takes the BQL
 *   step1       UNMAP_BLOB has published the new map, queued the old
 *               one with call_rcu() and (--force-on-unmap) called
 *               force_rcu()
 *   notified[i] vCPU i's force_rcu notifier ran (in the thread driving
 *               the grace period)
 *   left[i]     vCPU i is leaving the critical section the grace period
 *               waits for: one in which it used a map that still
 *               contains the blob, or one it was kicked out of (stamped
 *               just before its rcu_read_unlock())
 *   finalize    the old map's RCU callback dropped the blob's last
 *               reference (call_rcu thread, BQL held)
 *   bh          the resume BH started (main loop, BQL held)
 *   complete    the replayed UNMAP_BLOB completed
 *
 * Nothing here touches the RCU library: the grace period's own start
 * and end are not visible, only what the demo's threads see of them.
 */
#ifndef VGPU_TRACE_H
#define VGPU_TRACE_H

#include "qemu/atomic.h"
#include "vgpu-stats.h"

/* vgpu-unmap accepts at most this many vCPUs. */
#define VGPU_TRACE_MAX_VCPUS 64

typedef struct VgpuUnmapTrace {
    int64_t submit_ns;
    int64_t step1_ns;
    /* The generation of the first map without the blob; 0 until known. */
    uint64_t new_gen;
    int64_t notified_ns[VGPU_TRACE_MAX_VCPUS];
    int64_t left_ns[VGPU_TRACE_MAX_VCPUS];
    /* That section used a map with the blob: it began before the unmap. */
    bool left_old_map[VGPU_TRACE_MAX_VCPUS];
    int64_t finalize_ns;
    int64_t bh_ns;
    int64_t complete_ns;
} VgpuUnmapTrace;

/* Shared by the machine's threads; stamps go to the unmap in flight. */
typedef struct VgpuTracer {
    VgpuUnmapTrace *current;
} VgpuTracer;

/* The record of the unmap in flight, or NULL (also for a NULL @t). */
static inline VgpuUnmapTrace *vgpu_trace_current(VgpuTracer *t)
{
    return t ? qatomic_read(&t->current) : NULL;
}

/*
 * The first stamp of an event wins; returns whether this one did.  Each
 * field has a single writer; they are read only after the run, once
 * every writer has been joined or has handed over through the unmap's
 * completion.
 */
static inline bool vgpu_trace_stamp(int64_t *stamp)
{
    /*
     * 64-bit fields on 32-bit hosts too: GCC makes an 8-byte __atomic
     * load or store one instruction on i686 and later, without
     * libatomic.
     */
    if (qatomic_read__nocheck(stamp)) {
        return false;
    }
    qatomic_set__nocheck(stamp, vgpu_clock_ns());
    return true;
}

/* Instants from the submission, summarised over a run's unmaps. */
typedef enum VgpuTraceEvent {
    VGPU_EV_STEP1,
    VGPU_EV_FIRST_NOTIFIED,
    VGPU_EV_LAST_NOTIFIED,
    VGPU_EV_FIRST_LEFT,
    VGPU_EV_LAST_LEFT,
    VGPU_EV_FINALIZE,
    VGPU_EV_BH,
    VGPU_EV_COMPLETE,
    VGPU_EV_COUNT
} VgpuTraceEvent;

/* Consecutive stages; their medians need not add up to the total's. */
typedef enum VgpuTraceStage {
    VGPU_ST_SUBMIT_TO_STEP1,
    VGPU_ST_STEP1_TO_LAST_NOTIFIED,
    VGPU_ST_NOTIFIED_TO_LEFT,       /* per vCPU, pooled */
    VGPU_ST_LAST_LEFT_TO_FINALIZE,
    VGPU_ST_FINALIZE_TO_BH,
    VGPU_ST_BH_TO_COMPLETE,
    VGPU_ST_COUNT
} VgpuTraceStage;

typedef struct VgpuBreakdown {
    unsigned vcpus;
    /*
     * Unmaps whose stamps contradict the order RCU and the device
     * guarantee: a vCPU left a section that used the old map after the
     * old map's callback ran, or the callback, the BH and the completion
     * are missing or out of order.
     */
    unsigned order_errors;
    VgpuLatency event[VGPU_EV_COUNT];
    VgpuLatency stage[VGPU_ST_COUNT];
    /* Per vCPU, from the submission (the first min(vcpus, 64)). */
    VgpuLatency notified[VGPU_TRACE_MAX_VCPUS];
    VgpuLatency left[VGPU_TRACE_MAX_VCPUS];
} VgpuBreakdown;

extern const char *const vgpu_trace_event_names[VGPU_EV_COUNT];
extern const char *const vgpu_trace_event_keys[VGPU_EV_COUNT];
extern const char *const vgpu_trace_stage_names[VGPU_ST_COUNT];
extern const char *const vgpu_trace_stage_keys[VGPU_ST_COUNT];

/*
 * Summarises @traces (VgpuUnmapTrace *, complete unmaps only); a count
 * below the number of unmaps means the event was not seen in some.
 */
void vgpu_breakdown_summarize(const GPtrArray *traces, unsigned vcpus,
                              VgpuBreakdown *out);

#endif /* VGPU_TRACE_H */
