/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The virtio-gpu-like blob unmap path of contrib/vgpu-unmap, linked from
 * the same library as the vgpu-unmap program.
 *
 * While TCG-like vCPUs spin in read-side critical sections, every unmap
 * completes; every blob is finalized exactly once and only when no vCPU
 * can still see it (checked twice: the finalizer looks at the map each
 * vCPU has cached, and vCPUs check every region they touch for the
 * finalizer's poison); nothing deadlocks while the device holds the BQL
 * that kicked vCPUs need.  Without notifiers the unmaps wait for the
 * vCPUs' own exits and the stall warning names them.  A device that
 * calls force_rcu() at the unmap gets its grace period forced even when
 * timed forcing is off.
 *
 * VGPU_TEST_UNMAPS sets the number of unmaps per scenario (default 10).
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "vgpu-cmdq.h"
#include "vgpu-loop.h"
#include "vgpu-machine.h"

/* Per unmap; they take ~50 ms (kicked) or ~section_ms (not kicked). */
#define UNMAP_BOUND_NS (2000 * 1000000LL)
#define GENEROUS_MS    5000

static unsigned test_unmaps(void)
{
    const char *env = g_getenv("VGPU_TEST_UNMAPS");

    return env ? MAX(atoi(env), 1) : 10;
}

static void test_config(VgpuConfig *cfg)
{
    vgpu_config_init(cfg);
    cfg->unmaps = test_unmaps();
    cfg->region_size = 64 * 1024;
    cfg->keep_finalized = true;
    cfg->deadline_ms = UNMAP_BOUND_NS / 1000000;
    cfg->hang_ms = 10 * cfg->deadline_ms;
}

/* What every scenario must satisfy. */
static void check_result(const VgpuConfig *cfg, bool ok, const VgpuResult *r)
{
    g_test_message("%u unmaps: p50 %.1f ms, max %.1f ms; %" PRIu64
                   " grace periods (%" PRIu64 " forced), %" PRIu64
                   " kicks, %" PRIu64 " own exits, longest poll gap %.1f ms",
                   r->unmaps, r->latency.p50_ns / 1e6,
                   r->latency.max_ns / 1e6, r->rcu.grace_periods,
                   r->rcu.forced_grace_periods, r->vcpu.kick_exits,
                   r->vcpu.own_exits, r->vcpu.max_poll_gap_ns / 1e6);
    g_assert_true(ok);
    g_assert_false(r->hung);
    g_assert_cmpuint(r->unmaps, ==, cfg->unmaps);
    for (guint i = 0; i < r->latency_ns->len; i++) {
        g_assert_cmpint(g_array_index(r->latency_ns, int64_t, i), <,
                        UNMAP_BOUND_NS);
    }
    g_assert_cmpuint(r->missed_deadline, ==, 0);

    /* Suspended once, replayed once, finalized once. */
    g_assert_cmpuint(r->suspends, ==, cfg->unmaps);
    g_assert_cmpuint(r->replays, ==, cfg->unmaps);
    g_assert_cmpuint(r->blobs_finalized, ==, cfg->unmaps);
    g_assert_cmpuint(r->regions_finalized, ==, cfg->unmaps + 1);
    g_assert_cmpuint(r->finalize_errors, ==, 0);
    g_assert_cmpuint(r->vcpu.violations, ==, 0);
    /* The vCPUs really walked the map they had cached. */
    g_assert_cmpuint(r->vcpu.walks, >, r->vcpu.sections);
}

static void test_unmaps_complete(void)
{
    VgpuConfig cfg;
    VgpuResult res;
    bool ok;

    test_config(&cfg);
    ok = vgpu_machine_run(&cfg, &res);
    check_result(&cfg, ok, &res);
    /*
     * The vCPUs never leave on their own here, so every grace period
     * ended through force_rcu notifiers and kicks.
     */
    g_assert_cmpuint(res.vcpu.own_exits, ==, 0);
    g_assert_cmpuint(res.vcpu.kick_exits, >=, cfg.unmaps);
    g_assert_cmpuint(res.rcu.forced_grace_periods, >=, cfg.unmaps);
    g_assert_cmpuint(res.rcu.force_rcu_notifier_calls, >=, cfg.unmaps);
    vgpu_result_clear(&res);
}

/*
 * The device sits on the BQL after each unmap, first sleeping and then
 * in drain_call_rcu(), while kicked vCPUs take the BQL on their way out
 * and inside their sections (MMIO).  drain_call_rcu() must drop the BQL
 * or everything waits on everything.
 */
static void test_bql_held(void)
{
    VgpuConfig cfg;
    VgpuResult res;
    bool ok;

    test_config(&cfg);
    cfg.unmaps = MAX(cfg.unmaps / 2, 1);
    cfg.bql_hold_us = 20000;
    cfg.drain_under_bql = true;
    cfg.mmio_us = 200;
    ok = vgpu_machine_run(&cfg, &res);
    check_result(&cfg, ok, &res);
    g_test_message("longest drain_call_rcu() %.1f ms, %" PRIu64 " MMIO",
                   res.max_drain_ns / 1e6, res.vcpu.mmio);
    g_assert_cmpint(res.max_drain_ns, <, UNMAP_BOUND_NS);
    g_assert_cmpuint(res.vcpu.kick_exits, >=, cfg.unmaps);
    g_assert_cmpuint(res.vcpu.mmio, >, 0);
    vgpu_result_clear(&res);
}

static void test_no_kick(void)
{
    VgpuConfig cfg;
    VgpuResult res;
    bool ok;

    test_config(&cfg);
    cfg.unmaps = MAX(cfg.unmaps / 3, 1);
    cfg.kick = false;
    cfg.section_ms = 100;
    ok = vgpu_machine_run(&cfg, &res);
    check_result(&cfg, ok, &res);
    /* Forcing had nobody to kick: only the vCPUs' own exits helped. */
    g_assert_cmpuint(res.rcu.force_rcu_notifier_calls, ==, 0);
    g_assert_cmpuint(res.vcpu.kick_exits, ==, 0);
    g_assert_cmpuint(res.vcpu.own_exits, >=, cfg.unmaps);
    g_assert_cmpuint(res.rcu.forced_grace_periods, >, 0);
    vgpu_result_clear(&res);
}

/*
 * force_rcu() at the unmap: with timed forcing pushed out to 60 s and
 * forcing on pending callbacks out of reach, nothing but the device's
 * force_rcu() can force a grace period.  Maps still need the
 * vCPUs to leave their sections, so they leave on their own every
 * FORCE_SECTION_MS; each unmap starts right after such an exit, so
 * without the kick it would wait most of a section for the next one.
 * Half a section is the bound: kicked, an unmap takes a few ms, or tens
 * on a loaded machine, so the bound leaves a margin of 10x and more.
 */
#define FORCE_SECTION_MS 2000

static void test_force_on_unmap(void)
{
    VgpuConfig cfg;
    VgpuResult res;
    RcuTunables saved, t;
    bool ok;

    rcu_get_tunables(&saved);
    t = saved;
    t.force_after_us = 60 * 1000 * 1000;
    t.force_callbacks = 1000000;
    rcu_set_tunables(&t);

    test_config(&cfg);
    cfg.unmaps = MAX(cfg.unmaps / 5, 1);
    cfg.force_on_unmap = true;
    cfg.section_ms = FORCE_SECTION_MS;
    ok = vgpu_machine_run(&cfg, &res);
    rcu_set_tunables(&saved);

    check_result(&cfg, ok, &res);
    g_assert_cmpuint(res.force_rcus, ==, cfg.unmaps);
    /*
     * force_rcu() forces the grace period in progress and the next one,
     * and nothing else forces here.
     */
    g_assert_cmpuint(res.rcu.forced_grace_periods, >=, cfg.unmaps);
    g_assert_cmpuint(res.rcu.forced_grace_periods, <=, 2 * cfg.unmaps);
    g_assert_cmpuint(res.rcu.force_rcu_notifier_calls, >=, cfg.unmaps);
    g_assert_cmpuint(res.vcpu.kick_exits, >=, cfg.unmaps);
    /* The unmaps did not wait for the vCPUs' own exits. */
    for (guint i = 0; i < res.latency_ns->len; i++) {
        g_assert_cmpint(g_array_index(res.latency_ns, int64_t, i), <,
                        FORCE_SECTION_MS / 2 * 1000000LL);
    }
    vgpu_result_clear(&res);
}

static void test_no_kick_stall_warning(void)
{
    if (g_test_subprocess()) {
        VgpuConfig cfg;
        VgpuResult res;
        RcuTunables t;

        rcu_get_tunables(&t);
        t.stall_timeout_ms = 50;
        rcu_set_tunables(&t);
        test_config(&cfg);
        cfg.unmaps = 2;
        cfg.kick = false;
        cfg.section_ms = 200;
        g_assert_true(vgpu_machine_run(&cfg, &res));
        g_assert_cmpuint(res.rcu.stall_warnings, >, 0);
        vgpu_result_clear(&res);
        return;
    }
    g_test_trap_subprocess(NULL, GENEROUS_MS * 4 * 1000ULL, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*grace period stalled*(vcpu?): "
                              "no force_rcu notifier*");
}

/* Bottom halves: run on the main loop, under the BQL, coalesced. */

typedef struct BHProbe {
    VgpuMainLoop *ml;
    unsigned runs;
    bool wrong_context;
    QemuEvent ran;
    struct rcu_head rcu;
    VgpuBH *bh;
} BHProbe;

static void probe_bh(void *opaque)
{
    BHProbe *p = opaque;

    if (!vgpu_main_loop_is_self(p->ml) || !bql_locked()) {
        p->wrong_context = true;
    }
    p->runs++;
    qemu_event_set(&p->ran);
}

/* As the blob finalizer does: in the call_rcu thread, BQL held. */
static void probe_rcu_cb(struct rcu_head *head)
{
    BHProbe *p = container_of(head, BHProbe, rcu);

    vgpu_bh_schedule(p->bh);
}

static void *probe_thread(void *opaque)
{
    BHProbe *p = opaque;

    vgpu_bh_schedule(p->bh);
    return NULL;
}

static void probe_wait(BHProbe *p, unsigned runs)
{
    g_assert_true(qemu_event_timedwait(&p->ran, GENEROUS_MS));
    qemu_event_reset(&p->ran);
    bql_lock();
    g_assert_cmpuint(p->runs, ==, runs);
    bql_unlock();
}

static void test_bottom_half(void)
{
    BHProbe p = { 0 };
    QemuThread t;

    qemu_event_init(&p.ran, false);
    p.ml = vgpu_main_loop_new();
    p.bh = vgpu_bh_new(p.ml, probe_bh, &p);

    /* Holding the BQL keeps the main loop from running it in between. */
    bql_lock();
    vgpu_bh_schedule(p.bh);
    vgpu_bh_schedule(p.bh);
    bql_unlock();
    probe_wait(&p, 1);

    qemu_thread_create(&t, "bh-sched", probe_thread, &p,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t);
    probe_wait(&p, 2);

    call_rcu1(&p.rcu, probe_rcu_cb);
    probe_wait(&p, 3);

    /* A deleted BH does not run even if it was pending. */
    bql_lock();
    vgpu_bh_schedule(p.bh);
    vgpu_bh_delete(p.bh);
    bql_unlock();
    vgpu_main_loop_free(p.ml);
    g_assert_cmpuint(p.runs, ==, 3);
    g_assert_false(p.wrong_context);
    qemu_event_destroy(&p.ran);
}

/* The command queue: a suspended command blocks those behind it. */

typedef struct CmdqProbe {
    GString *log;
} CmdqProbe;

static void probe_process(VgpuCmd *cmd, bool *suspended, void *opaque)
{
    CmdqProbe *p = opaque;

    g_string_append_printf(p->log, "%" PRIu64 ":%u ", cmd->resource_id,
                           cmd->runs);
    /* Command 1 suspends on its first run, as an unmap does. */
    if (cmd->resource_id == 1 && cmd->runs == 1) {
        *suspended = true;
    }
}

static void test_cmdq_suspend_replay(void)
{
    CmdqProbe p = { .log = g_string_new("") };
    VgpuCmdQueue q;
    VgpuCmd a, b;

    vgpu_cmdq_init(&q, probe_process, &p);
    vgpu_cmd_init(&a, VGPU_CMD_UNMAP_BLOB, 1);
    vgpu_cmd_init(&b, VGPU_CMD_MAP_BLOB, 2);

    bql_lock();
    vgpu_cmdq_push(&q, &a);
    vgpu_cmdq_push(&q, &b);
    vgpu_cmdq_process(&q);
    /* The unmap path blocks the queue when it suspends. */
    vgpu_cmdq_block(&q);
    g_assert_cmpstr(p.log->str, ==, "1:1 ");
    g_assert_false(qemu_event_timedwait(&a.done, 0));

    vgpu_cmdq_process(&q);
    g_assert_cmpstr(p.log->str, ==, "1:1 ");

    vgpu_cmdq_unblock(&q);
    vgpu_cmdq_process(&q);
    g_assert_cmpstr(p.log->str, ==, "1:1 1:2 2:1 ");
    bql_unlock();

    g_assert_true(qemu_event_timedwait(&a.done, 0));
    g_assert_true(qemu_event_timedwait(&b.done, 0));
    g_assert_cmpuint(q.suspends, ==, 1);
    g_assert_cmpuint(q.replays, ==, 1);
    g_assert_cmpuint(q.completed, ==, 2);
    g_assert_cmpint(a.complete_ns, <=, b.complete_ns);
    vgpu_cmd_destroy(&a);
    vgpu_cmd_destroy(&b);
    g_string_free(p.log, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vgpu-unmap/bottom-half", test_bottom_half);
    g_test_add_func("/vgpu-unmap/cmdq-suspend-replay",
                    test_cmdq_suspend_replay);
    g_test_add_func("/vgpu-unmap/unmaps-complete", test_unmaps_complete);
    g_test_add_func("/vgpu-unmap/bql-held", test_bql_held);
    g_test_add_func("/vgpu-unmap/no-kick", test_no_kick);
    g_test_add_func("/vgpu-unmap/force-on-unmap", test_force_on_unmap);
    g_test_add_func("/vgpu-unmap/no-kick-stall-warning",
                    test_no_kick_stall_warning);
    return g_test_run();
}
