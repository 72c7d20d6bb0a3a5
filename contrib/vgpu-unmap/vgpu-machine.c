/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "vgpu-device.h"
#include "vgpu-loop.h"
#include "vgpu-machine.h"

typedef struct VgpuMachine {
    const VgpuConfig *cfg;
    VgpuResult *res;
    VgpuMainLoop *ml;
    VgpuAddressSpace as;
    VgpuRegion ram;
    VgpuDevice *dev;
    VgpuVcpu *vcpus;
    QemuThread device_thread;
    VgpuTracer tracer;
} VgpuMachine;

void vgpu_config_init(VgpuConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->vcpus = 2;
    cfg->unmaps = 30;
    cfg->region_size = 1024 * 1024;
    cfg->kick = true;
    cfg->mmio_us = 1000;
    cfg->deadline_ms = 1000;
    cfg->hang_ms = 30000;
}

/*
 * The guest uses the blob: every vCPU has cached a map containing it.
 * Then the map's own grace period (@cookie) has ended too, so each unmap
 * starts with no grace period in progress.  Otherwise the unmap's
 * force_rcu() could land on that earlier grace period while it still
 * polls, force it instead, and leave the unmap's to poll.
 */
static bool vgpu_wait_seen(VgpuMachine *m, uint64_t gen,
                           unsigned long cookie)
{
    int64_t give_up = vgpu_clock_ns() + (int64_t)m->cfg->hang_ms * 1000000;

    for (unsigned i = 0; i < m->cfg->vcpus; i++) {
        while (vgpu_vcpu_seen_gen(&m->vcpus[i]) < gen) {
            if (vgpu_clock_ns() > give_up) {
                fprintf(stderr, "vgpu: vcpu%u never saw the new map\n", i);
                return false;
            }
            g_usleep(100);
        }
    }
    while (!poll_state_synchronize_rcu(cookie)) {
        if (vgpu_clock_ns() > give_up) {
            fprintf(stderr, "vgpu: the grace period of map %" PRIu64
                    " never ended\n", gen);
            return false;
        }
        g_usleep(100);
    }
    return true;
}

static bool vgpu_map_blob(VgpuMachine *m, uint64_t id)
{
    VgpuCmd cmd;
    unsigned long cookie;
    bool ok;

    vgpu_cmd_init(&cmd, VGPU_CMD_MAP_BLOB, id);
    bql_lock();
    /*
     * Before the call_rcu() of the old map, so that the grace period
     * that runs its callback completes the cookie; taken after it, the
     * cookie could need one more grace period, which nothing starts.
     */
    cookie = get_state_synchronize_rcu();
    vgpu_device_submit_locked(m->dev, &cmd);
    bql_unlock();
    /* Nothing blocks the queue between two unmaps: it completed at once. */
    ok = qemu_event_timedwait(&cmd.done, 0) && !cmd.error;
    ok = ok && vgpu_wait_seen(m, cmd.result, cookie);
    vgpu_cmd_destroy(&cmd);
    return ok;
}

static bool vgpu_unmap_blob(VgpuMachine *m, uint64_t id, int64_t *latency)
{
    const VgpuConfig *cfg = m->cfg;
    /* On the heap: if the unmap hangs, the queue keeps pointing to it. */
    VgpuCmd *cmd = g_new(VgpuCmd, 1);
    /* Likewise: if it hangs, threads may still stamp it. */
    VgpuUnmapTrace *tr = cfg->breakdown ? g_new0(VgpuUnmapTrace, 1) : NULL;

    vgpu_cmd_init(cmd, VGPU_CMD_UNMAP_BLOB, id);
    if (tr) {
        qatomic_set(&m->tracer.current, tr);
    }
    cmd->submit_ns = vgpu_clock_ns();
    bql_lock();
    vgpu_device_submit_locked(m->dev, cmd);
    if (cfg->bql_hold_us) {
        /* Kicked vCPUs and the call_rcu thread now queue for the BQL. */
        g_usleep(cfg->bql_hold_us);
    }
    if (cfg->drain_under_bql) {
        int64_t t = vgpu_clock_ns();

        /* Drops the BQL while it waits, then takes it back. */
        drain_call_rcu();
        m->res->max_drain_ns = MAX(m->res->max_drain_ns, vgpu_clock_ns() - t);
    }
    bql_unlock();

    if (!qemu_event_timedwait(&cmd->done, cfg->hang_ms)) {
        fprintf(stderr, "vgpu: unmap of blob %" PRIu64 " did not complete "
                "in %u ms\n", id, cfg->hang_ms);
        return false;
    }
    *latency = cmd->complete_ns - cmd->submit_ns;
    assert(!cmd->error && cmd->runs == 2);
    if (tr) {
        /*
         * Every stamp of this unmap happened before its completion, which
         * the event handed over; the next unmap's start none.
         */
        qatomic_set(&m->tracer.current, NULL);
        tr->submit_ns = cmd->submit_ns;
        tr->complete_ns = cmd->complete_ns;
        g_ptr_array_add(m->res->traces, tr);
    }
    vgpu_cmd_destroy(cmd);
    g_free(cmd);
    return true;
}

static void *vgpu_device_thread(void *opaque)
{
    VgpuMachine *m = opaque;
    const VgpuConfig *cfg = m->cfg;
    VgpuResult *res = m->res;
    int64_t start = vgpu_clock_ns();
    int64_t end = cfg->duration_ms ?
                  start + (int64_t)cfg->duration_ms * 1000000 : INT64_MAX;

    rcu_register_thread();
    for (uint64_t id = 1; !cfg->unmaps || id <= cfg->unmaps; id++) {
        VgpuProgress p;
        int64_t lat;

        if (vgpu_clock_ns() >= end) {
            break;
        }
        if (!vgpu_map_blob(m, id) || !vgpu_unmap_blob(m, id, &lat)) {
            res->hung = true;
            break;
        }
        g_array_append_val(res->latency_ns, lat);
        res->unmaps++;
        if (lat > (int64_t)cfg->deadline_ms * 1000000) {
            res->missed_deadline++;
        }
        if (cfg->progress) {
            p.done = res->unmaps;
            p.total = cfg->unmaps;
            p.elapsed_ns = vgpu_clock_ns() - start;
            p.last_ns = lat;
            cfg->progress(&p, cfg->progress_opaque);
        }
    }
    res->elapsed_ns = vgpu_clock_ns() - start;
    rcu_unregister_thread();
    return NULL;
}

static void vgpu_vcpu_stats_add(VgpuVcpuStats *sum, const VgpuVcpuStats *s)
{
    sum->sections += s->sections;
    sum->walks += s->walks;
    sum->kicks += s->kicks;
    sum->kick_exits += s->kick_exits;
    sum->own_exits += s->own_exits;
    sum->mmio += s->mmio;
    sum->violations += s->violations;
    sum->max_section_ns = MAX(sum->max_section_ns, s->max_section_ns);
    sum->max_poll_gap_ns = MAX(sum->max_poll_gap_ns, s->max_poll_gap_ns);
}

bool vgpu_machine_run(const VgpuConfig *cfg, VgpuResult *res)
{
    VgpuMachine *m = g_new0(VgpuMachine, 1);
    RcuStats before, after;
    VgpuDeviceStats ds;

    memset(res, 0, sizeof(*res));
    res->latency_ns = g_array_new(false, false, sizeof(int64_t));
    res->traces = g_ptr_array_new_with_free_func(g_free);
    m->cfg = cfg;
    m->res = res;

    m->ml = vgpu_main_loop_new();
    vgpu_as_init(&m->as);
    vgpu_region_init(&m->ram, 0, cfg->region_size, NULL);
    bql_lock();
    vgpu_as_add_region(&m->as, &m->ram);
    bql_unlock();
    m->dev = vgpu_device_new(m->ml, &m->as, cfg->region_size,
                             cfg->keep_finalized);
    vgpu_device_set_force_on_unmap(m->dev, cfg->force_on_unmap);
    if (cfg->breakdown) {
        vgpu_device_set_tracer(m->dev, &m->tracer);
    }

    m->vcpus = g_new0(VgpuVcpu, cfg->vcpus);
    for (unsigned i = 0; i < cfg->vcpus; i++) {
        vgpu_vcpu_init(&m->vcpus[i], i, &m->as, cfg->kick, cfg->section_ms,
                       cfg->mmio_us);
        if (cfg->breakdown) {
            vgpu_vcpu_set_tracer(&m->vcpus[i], &m->tracer);
        }
    }
    rcu_get_stats(&before);
    for (unsigned i = 0; i < cfg->vcpus; i++) {
        vgpu_vcpu_start(&m->vcpus[i]);
    }

    qemu_thread_create(&m->device_thread, "vgpu-dev", vgpu_device_thread, m,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_join(&m->device_thread);
    rcu_get_stats(&after);
    rcu_stats_diff(&res->rcu, &after, &before);
    res->max_grace_period_in_run =
        after.max_grace_period_ns > before.max_grace_period_ns;
    vgpu_latency_summarize(res->latency_ns, &res->latency);
    if (res->hung) {
        return false;
    }

    for (unsigned i = 0; i < cfg->vcpus; i++) {
        VgpuVcpuStats s;

        vgpu_vcpu_stop(&m->vcpus[i]);
        vgpu_vcpu_get_stats(&m->vcpus[i], &s);
        vgpu_vcpu_stats_add(&res->vcpu, &s);
    }
    vgpu_breakdown_summarize(res->traces, cfg->vcpus, &res->breakdown);
    if (res->breakdown.order_errors) {
        fprintf(stderr, "vgpu: %u unmaps have stamps out of order: a "
                "section that used the old map ended after its callback, "
                "or a step is missing\n", res->breakdown.order_errors);
    }

    bql_lock();
    vgpu_as_del_region(&m->as, &m->ram);
    vgpu_region_unref(&m->ram);
    bql_unlock();
    vgpu_as_destroy(&m->as);

    vgpu_device_get_stats(m->dev, &ds);
    res->blobs_finalized = ds.finalized;
    res->suspends = ds.suspends;
    res->replays = ds.replays;
    res->resumes = ds.resumes;
    res->force_rcus = ds.force_rcus;
    res->regions_finalized = m->as.finalized;
    res->finalize_errors = m->as.finalize_errors;

    vgpu_device_free(m->dev);
    vgpu_region_release_host(&m->ram);
    vgpu_main_loop_free(m->ml);
    g_free(m->vcpus);
    g_free(m);
    return true;
}

void vgpu_result_clear(VgpuResult *res)
{
    if (res->latency_ns) {
        g_array_free(res->latency_ns, true);
        res->latency_ns = NULL;
    }
    if (res->traces) {
        g_ptr_array_free(res->traces, true);
        res->traces = NULL;
    }
}
