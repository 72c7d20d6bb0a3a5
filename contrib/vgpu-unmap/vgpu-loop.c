/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The main loop: sleeps on an event until a BH is scheduled, then runs
 * the pending BHs in scheduling order under the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/stats64.h"
#include "qemu/main-loop.h"
#include "qemu/queue.h"
#include "qemu/rcu.h"
#include "vgpu-loop.h"

struct VgpuBH {
    VgpuMainLoop *ml;
    VgpuBHFunc *cb;
    void *opaque;
    bool scheduled;                     /* protected by ml->bh_lock */
    QSIMPLEQ_ENTRY(VgpuBH) next;
};

struct VgpuMainLoop {
    QemuThread thread;
    /*
     * A leaf lock: nothing else is ever taken while it is held, so BHs
     * can be scheduled with the BQL or RCU-internal locks held.
     */
    QemuMutex bh_lock;
    QSIMPLEQ_HEAD(, VgpuBH) pending;
    QemuEvent notify;
    bool stopping;
    Stat64 bh_runs;
};

static VgpuBH *vgpu_bh_pop(VgpuMainLoop *ml)
{
    VgpuBH *bh;

    qemu_mutex_lock(&ml->bh_lock);
    bh = QSIMPLEQ_FIRST(&ml->pending);
    if (bh) {
        QSIMPLEQ_REMOVE_HEAD(&ml->pending, next);
        /* Scheduling it again from now on runs it again. */
        bh->scheduled = false;
    }
    qemu_mutex_unlock(&ml->bh_lock);
    return bh;
}

static void *vgpu_main_loop_thread(void *opaque)
{
    VgpuMainLoop *ml = opaque;
    VgpuBH *bh;
    bool stop;

    /* QEMU's main thread is an RCU reader too (address_space_* calls). */
    rcu_register_thread();
    for (;;) {
        /*
         * Reset before looking at the queue: a BH scheduled after the
         * look sets the event again and the wait below returns at once.
         */
        qemu_event_reset(&ml->notify);
        bql_lock();
        while ((bh = vgpu_bh_pop(ml))) {
            bh->cb(bh->opaque);
            stat64_add(&ml->bh_runs, 1);
        }
        stop = qatomic_read(&ml->stopping);
        bql_unlock();
        if (stop) {
            break;
        }
        qemu_event_wait(&ml->notify);
    }
    rcu_unregister_thread();
    return NULL;
}

VgpuMainLoop *vgpu_main_loop_new(void)
{
    VgpuMainLoop *ml = g_new0(VgpuMainLoop, 1);

    qemu_mutex_init(&ml->bh_lock);
    QSIMPLEQ_INIT(&ml->pending);
    qemu_event_init(&ml->notify, false);
    qemu_thread_create(&ml->thread, "main-loop", vgpu_main_loop_thread, ml,
                       QEMU_THREAD_JOINABLE);
    return ml;
}

void vgpu_main_loop_free(VgpuMainLoop *ml)
{
    qatomic_set(&ml->stopping, true);
    qemu_event_set(&ml->notify);
    qemu_thread_join(&ml->thread);
    assert(QSIMPLEQ_EMPTY(&ml->pending));
    qemu_event_destroy(&ml->notify);
    qemu_mutex_destroy(&ml->bh_lock);
    g_free(ml);
}

bool vgpu_main_loop_is_self(VgpuMainLoop *ml)
{
    return qemu_thread_is_self(&ml->thread);
}

uint64_t vgpu_main_loop_bh_runs(VgpuMainLoop *ml)
{
    return stat64_get(&ml->bh_runs);
}

VgpuBH *vgpu_bh_new(VgpuMainLoop *ml, VgpuBHFunc *cb, void *opaque)
{
    VgpuBH *bh = g_new0(VgpuBH, 1);

    bh->ml = ml;
    bh->cb = cb;
    bh->opaque = opaque;
    return bh;
}

void vgpu_bh_schedule(VgpuBH *bh)
{
    VgpuMainLoop *ml = bh->ml;
    bool wake = false;

    qemu_mutex_lock(&ml->bh_lock);
    if (!bh->scheduled) {
        bh->scheduled = true;
        QSIMPLEQ_INSERT_TAIL(&ml->pending, bh, next);
        wake = true;
    }
    qemu_mutex_unlock(&ml->bh_lock);
    if (wake) {
        qemu_event_set(&ml->notify);
    }
}

void vgpu_bh_delete(VgpuBH *bh)
{
    VgpuMainLoop *ml = bh->ml;

    assert(bql_locked());
    qemu_mutex_lock(&ml->bh_lock);
    if (bh->scheduled) {
        QSIMPLEQ_REMOVE(&ml->pending, bh, VgpuBH, next);
    }
    qemu_mutex_unlock(&ml->bh_lock);
    g_free(bh);
}
