/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "vgpu-trace.h"

const char *const vgpu_trace_event_names[VGPU_EV_COUNT] = {
    [VGPU_EV_STEP1] = "step 1 done (published, call_rcu, force_rcu)",
    [VGPU_EV_FIRST_NOTIFIED] = "first force_rcu notifier ran",
    [VGPU_EV_LAST_NOTIFIED] = "last force_rcu notifier ran",
    [VGPU_EV_FIRST_LEFT] = "first vCPU left its section",
    [VGPU_EV_LAST_LEFT] = "last vCPU left its section",
    [VGPU_EV_FINALIZE] = "old map's callback ran (finalize)",
    [VGPU_EV_BH] = "resume BH ran",
    [VGPU_EV_COMPLETE] = "unmap completed",
};

const char *const vgpu_trace_event_keys[VGPU_EV_COUNT] = {
    [VGPU_EV_STEP1] = "step1",
    [VGPU_EV_FIRST_NOTIFIED] = "first_notified",
    [VGPU_EV_LAST_NOTIFIED] = "last_notified",
    [VGPU_EV_FIRST_LEFT] = "first_left",
    [VGPU_EV_LAST_LEFT] = "last_left",
    [VGPU_EV_FINALIZE] = "finalize",
    [VGPU_EV_BH] = "bh",
    [VGPU_EV_COMPLETE] = "complete",
};

const char *const vgpu_trace_stage_names[VGPU_ST_COUNT] = {
    [VGPU_ST_SUBMIT_TO_STEP1] = "submission -> step 1 done",
    [VGPU_ST_STEP1_TO_LAST_NOTIFIED] = "step 1 done -> last notifier",
    [VGPU_ST_NOTIFIED_TO_LEFT] = "notifier -> its vCPU left (each)",
    [VGPU_ST_LAST_LEFT_TO_FINALIZE] = "last vCPU left -> callback",
    [VGPU_ST_FINALIZE_TO_BH] = "callback -> resume BH",
    [VGPU_ST_BH_TO_COMPLETE] = "resume BH -> completed",
};

const char *const vgpu_trace_stage_keys[VGPU_ST_COUNT] = {
    [VGPU_ST_SUBMIT_TO_STEP1] = "submit_to_step1",
    [VGPU_ST_STEP1_TO_LAST_NOTIFIED] = "step1_to_last_notified",
    [VGPU_ST_NOTIFIED_TO_LEFT] = "notified_to_left",
    [VGPU_ST_LAST_LEFT_TO_FINALIZE] = "last_left_to_finalize",
    [VGPU_ST_FINALIZE_TO_BH] = "finalize_to_bh",
    [VGPU_ST_BH_TO_COMPLETE] = "bh_to_complete",
};

/* Appends @to - @from when both instants were seen. */
static void add_span(GArray *a, int64_t from, int64_t to)
{
    if (from && to) {
        int64_t d = to - from;

        g_array_append_val(a, d);
    }
}

/* The earliest and latest of the @n stamps that were seen, or 0. */
static void first_last(const int64_t *stamps, unsigned n, int64_t *first,
                       int64_t *last)
{
    *first = *last = 0;
    for (unsigned i = 0; i < n; i++) {
        int64_t t = qatomic_read__nocheck(&stamps[i]);

        if (t) {
            *first = *first ? MIN(*first, t) : t;
            *last = MAX(*last, t);
        }
    }
}

/*
 * The stamps of one unmap against the order of its steps.  The clock is
 * CLOCK_MONOTONIC, which never goes back across CPUs, and every stamp
 * of a section that used the old map is taken before that section's
 * rcu_read_unlock(), so it must precede the callback.
 */
static bool trace_in_order(const VgpuUnmapTrace *t, unsigned vcpus)
{
    int64_t fin = qatomic_read__nocheck(&t->finalize_ns);
    int64_t bh = qatomic_read__nocheck(&t->bh_ns);
    int64_t step1 = qatomic_read__nocheck(&t->step1_ns);

    if (!step1 || !fin || !bh || !t->complete_ns ||
        step1 < t->submit_ns || fin < step1 || bh < fin ||
        t->complete_ns < bh) {
        return false;
    }
    for (unsigned i = 0; i < vcpus; i++) {
        if (qatomic_read(&t->left_old_map[i]) &&
            qatomic_read__nocheck(&t->left_ns[i]) > fin) {
            return false;
        }
    }
    return true;
}

void vgpu_breakdown_summarize(const GPtrArray *traces, unsigned vcpus,
                              VgpuBreakdown *out)
{
    GArray *ev[VGPU_EV_COUNT], *st[VGPU_ST_COUNT];
    GArray *notified[VGPU_TRACE_MAX_VCPUS], *left[VGPU_TRACE_MAX_VCPUS];

    memset(out, 0, sizeof(*out));
    vcpus = MIN(vcpus, VGPU_TRACE_MAX_VCPUS);
    out->vcpus = vcpus;
    for (int e = 0; e < VGPU_EV_COUNT; e++) {
        ev[e] = g_array_new(false, false, sizeof(int64_t));
    }
    for (int s = 0; s < VGPU_ST_COUNT; s++) {
        st[s] = g_array_new(false, false, sizeof(int64_t));
    }
    for (unsigned i = 0; i < vcpus; i++) {
        notified[i] = g_array_new(false, false, sizeof(int64_t));
        left[i] = g_array_new(false, false, sizeof(int64_t));
    }

    for (guint k = 0; k < traces->len; k++) {
        const VgpuUnmapTrace *t = g_ptr_array_index(traces, k);
        int64_t at[VGPU_EV_COUNT];

        at[VGPU_EV_STEP1] = qatomic_read__nocheck(&t->step1_ns);
        first_last(t->notified_ns, vcpus, &at[VGPU_EV_FIRST_NOTIFIED],
                   &at[VGPU_EV_LAST_NOTIFIED]);
        first_last(t->left_ns, vcpus, &at[VGPU_EV_FIRST_LEFT],
                   &at[VGPU_EV_LAST_LEFT]);
        at[VGPU_EV_FINALIZE] = qatomic_read__nocheck(&t->finalize_ns);
        at[VGPU_EV_BH] = qatomic_read__nocheck(&t->bh_ns);
        at[VGPU_EV_COMPLETE] = t->complete_ns;
        if (!trace_in_order(t, vcpus)) {
            out->order_errors++;
        }

        for (int e = 0; e < VGPU_EV_COUNT; e++) {
            add_span(ev[e], t->submit_ns, at[e]);
        }
        for (unsigned i = 0; i < vcpus; i++) {
            int64_t n = qatomic_read__nocheck(&t->notified_ns[i]);
            int64_t l = qatomic_read__nocheck(&t->left_ns[i]);

            add_span(notified[i], t->submit_ns, n);
            add_span(left[i], t->submit_ns, l);
            add_span(st[VGPU_ST_NOTIFIED_TO_LEFT], n, l);
        }
        add_span(st[VGPU_ST_SUBMIT_TO_STEP1], t->submit_ns,
                 at[VGPU_EV_STEP1]);
        add_span(st[VGPU_ST_STEP1_TO_LAST_NOTIFIED], at[VGPU_EV_STEP1],
                 at[VGPU_EV_LAST_NOTIFIED]);
        add_span(st[VGPU_ST_LAST_LEFT_TO_FINALIZE], at[VGPU_EV_LAST_LEFT],
                 at[VGPU_EV_FINALIZE]);
        add_span(st[VGPU_ST_FINALIZE_TO_BH], at[VGPU_EV_FINALIZE],
                 at[VGPU_EV_BH]);
        add_span(st[VGPU_ST_BH_TO_COMPLETE], at[VGPU_EV_BH],
                 at[VGPU_EV_COMPLETE]);
    }

    for (int e = 0; e < VGPU_EV_COUNT; e++) {
        vgpu_latency_summarize(ev[e], &out->event[e]);
        g_array_free(ev[e], true);
    }
    for (int s = 0; s < VGPU_ST_COUNT; s++) {
        vgpu_latency_summarize(st[s], &out->stage[s]);
        g_array_free(st[s], true);
    }
    for (unsigned i = 0; i < vcpus; i++) {
        vgpu_latency_summarize(notified[i], &out->notified[i]);
        vgpu_latency_summarize(left[i], &out->left[i]);
        g_array_free(notified[i], true);
        g_array_free(left[i], true);
    }
}
