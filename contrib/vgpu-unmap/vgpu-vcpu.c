/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "vgpu-stats.h"
#include "vgpu-vcpu.h"

#define vcpu_stat_add(cpu, field, n) stat64_add(&(cpu)->stats.field, (n))

/*
 * Runs in the thread driving the grace period with the RCU registry
 * lock held: it must not block, so it only raises a flag, as
 * async_run_on_cpu() + qemu_cpu_kick() do in QEMU.
 */
static void vgpu_vcpu_force_rcu(Notifier *n, void *data)
{
    VgpuVcpu *cpu = container_of(n, VgpuVcpu, force_rcu);
    VgpuUnmapTrace *tr = vgpu_trace_current(cpu->tracer);

    if (tr) {
        vgpu_trace_stamp(&tr->notified_ns[cpu->index]);
    }
    stat64_add(&cpu->stats.kicks, 1);
    /* Release: pairs with the acquire in vgpu_vcpu_trace_exit(). */
    qatomic_store_release(&cpu->exit_request, true);
}

/*
 * With --breakdown: stamps the unmap in flight if its grace period had
 * to wait for this section: the section used a map that still contains
 * the blob, or the grace period kicked the vCPU out of it (a section
 * that began between the publication and the grace period's start).
 * The unmap stores new_gen before anybody is kicked; the acquire pairs
 * with the notifier's release store of exit_request.
 */
static void vgpu_vcpu_trace_exit(VgpuVcpu *cpu, VgpuFlatView *view,
                                 bool kicked)
{
    VgpuUnmapTrace *tr = vgpu_trace_current(cpu->tracer);
    bool old_map;

    smp_mb_acquire();
    if (!tr) {
        return;
    }
    old_map = view->gen < qatomic_read__nocheck(&tr->new_gen);
    if ((old_map ||
         (kicked && qatomic_read__nocheck(&tr->notified_ns[cpu->index]))) &&
        vgpu_trace_stamp(&tr->left_ns[cpu->index])) {
        qatomic_set(&tr->left_old_map[cpu->index], old_map);
    }
}

/* A device register access: TCG holds the BQL for MMIO. */
static void vgpu_vcpu_mmio(VgpuVcpu *cpu)
{
    bql_lock();
    vcpu_stat_add(cpu, mmio, 1);
    bql_unlock();
}

static void vgpu_vcpu_walk(VgpuVcpu *cpu, VgpuFlatView *view)
{
    for (unsigned i = 0; i < view->nr; i++) {
        VgpuRegion *r = view->regions[i];

        if (!vgpu_region_access(r, &cpu->checksum)) {
            if (!stat64_get(&cpu->stats.violations)) {
                fprintf(stderr, "vgpu: vcpu%u accessed region %" PRIu64
                        " after it was finalized\n", cpu->index, r->id);
            }
            vcpu_stat_add(cpu, violations, 1);
        }
    }
    vcpu_stat_add(cpu, walks, 1);
}

/* One read-side critical section: the body of cpu_exec(). */
static void vgpu_vcpu_exec(VgpuVcpu *cpu)
{
    int64_t start = vgpu_clock_ns(), now = start, prev = start;
    int64_t next_mmio = start + cpu->mmio_interval_ns;
    int64_t max_gap = 0;
    VgpuFlatView *view;
    bool kicked;

    rcu_read_lock();
    view = vgpu_as_get_map(cpu->as);
    /*
     * Publish the cached map for the finalizer's check.  It is cleared
     * before rcu_read_unlock(), whose store-release makes the clearing
     * visible to the grace period that then lets the finalizer run.
     */
    qatomic_set(&cpu->in_use, view);
    stat64_set(&cpu->seen_gen, view->gen);
    vcpu_stat_add(cpu, sections, 1);

    for (;;) {
        vgpu_vcpu_walk(cpu, view);
        kicked = qatomic_read(&cpu->exit_request);
        now = vgpu_clock_ns();
        max_gap = MAX(max_gap, now - prev);
        prev = now;
        if (kicked || qatomic_read(&cpu->stop)) {
            break;
        }
        if (cpu->section_ns && now - start >= cpu->section_ns) {
            vcpu_stat_add(cpu, own_exits, 1);
            break;
        }
        if (cpu->mmio_interval_ns && now >= next_mmio) {
            vgpu_vcpu_mmio(cpu);
            next_mmio = now + cpu->mmio_interval_ns;
        }
    }

    if (cpu->tracer) {
        vgpu_vcpu_trace_exit(cpu, view, kicked);
    }
    qatomic_set(&cpu->in_use, NULL);
    rcu_read_unlock();

    stat64_max(&cpu->stats.max_section_ns, now - start);
    stat64_max(&cpu->stats.max_poll_gap_ns, max_gap);
    if (kicked) {
        vcpu_stat_add(cpu, kick_exits, 1);
    }
}

/*
 * Outside the critical section: the grace period can already end while
 * the vCPU waits here for the BQL, so a BQL holder never holds up the
 * grace period through a kicked vCPU (compare the pause deadlock of
 * cloud-hypervisor, where the kicked vCPU blocked on the very lock the
 * kicker held while it waited for the acknowledgement).
 */
static void vgpu_vcpu_handle_exit(VgpuVcpu *cpu)
{
    if (qatomic_xchg(&cpu->exit_request, false)) {
        /* qemu_wait_io_event() -> process_queued_cpu_work(). */
        bql_lock();
        bql_unlock();
    }
}

static void *vgpu_vcpu_thread(void *opaque)
{
    VgpuVcpu *cpu = opaque;

    rcu_register_thread();
    if (cpu->use_notifier) {
        /* The notifier list is per thread: add it from the vCPU itself. */
        cpu->force_rcu.notify = vgpu_vcpu_force_rcu;
        rcu_add_force_rcu_notifier(&cpu->force_rcu);
    }

    while (!qatomic_read(&cpu->stop)) {
        vgpu_vcpu_exec(cpu);
        vgpu_vcpu_handle_exit(cpu);
    }

    if (cpu->use_notifier) {
        rcu_remove_force_rcu_notifier(&cpu->force_rcu);
    }
    rcu_unregister_thread();
    return NULL;
}

void vgpu_vcpu_init(VgpuVcpu *cpu, unsigned index, VgpuAddressSpace *as,
                    bool use_notifier, unsigned section_ms, unsigned mmio_us)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->index = index;
    cpu->as = as;
    cpu->use_notifier = use_notifier;
    cpu->section_ns = (int64_t)section_ms * 1000000;
    cpu->mmio_interval_ns = (int64_t)mmio_us * 1000;
    vgpu_as_add_user(as, &cpu->in_use);
}

void vgpu_vcpu_set_tracer(VgpuVcpu *cpu, VgpuTracer *tracer)
{
    assert(cpu->index < VGPU_TRACE_MAX_VCPUS);
    cpu->tracer = tracer;
}

void vgpu_vcpu_start(VgpuVcpu *cpu)
{
    g_autofree char *name = g_strdup_printf("vcpu%u", cpu->index);

    qemu_thread_create(&cpu->thread, name, vgpu_vcpu_thread, cpu,
                       QEMU_THREAD_JOINABLE);
}

void vgpu_vcpu_stop(VgpuVcpu *cpu)
{
    qatomic_set(&cpu->stop, true);
    qemu_thread_join(&cpu->thread);
}

uint64_t vgpu_vcpu_seen_gen(VgpuVcpu *cpu)
{
    return stat64_get(&cpu->seen_gen);
}

void vgpu_vcpu_get_stats(VgpuVcpu *cpu, VgpuVcpuStats *s)
{
    s->sections = stat64_get(&cpu->stats.sections);
    s->walks = stat64_get(&cpu->stats.walks);
    s->kicks = stat64_get(&cpu->stats.kicks);
    s->kick_exits = stat64_get(&cpu->stats.kick_exits);
    s->own_exits = stat64_get(&cpu->stats.own_exits);
    s->mmio = stat64_get(&cpu->stats.mmio);
    s->violations = stat64_get(&cpu->stats.violations);
    s->max_section_ns = stat64_get(&cpu->stats.max_section_ns);
    s->max_poll_gap_ns = stat64_get(&cpu->stats.max_poll_gap_ns);
}
