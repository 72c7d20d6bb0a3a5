/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The grace-period handshake of util/rcu.c, one reader and one writer,
 * shared by model-reader-scan.cpp and model-online.cpp.  Each method is
 * named after the function of util/rcu.c or include/qemu/rcu.h it stands
 * for and keeps that function's memory orders; the comments say what
 * each order pairs with, as in the C source.
 *
 * Left out because they do not take part in the handshake: nesting
 * (depth), the registry list and its lock (one reader is always
 * registered), force_rcu notifiers (they only make a reader leave
 * sooner), stall reports, statistics, and the normal state's sleeping
 * policy (a poll is a yield).  The host is taken to be weakly ordered
 * (RCU_HOST_TSO == 0), so every scan uses rcu_mb_global().
 *
 * Faults that the including models re-introduce (see each model):
 *  MODEL_BUG_LOCK_NO_BARRIER, MODEL_BUG_UNLOCK_RELAXED,
 *  MODEL_BUG_SCAN_UNORDERED, MODEL_BUG_LOCAL_BARRIER,
 *  MODEL_BUG_FORCED_SLEEP_UNTIMED, MODEL_BUG_RELAXED_ONLINE_COUNT,
 *  MODEL_BUG_ONLINE_NO_BARRIER.
 */
#ifndef TESTS_MODEL_RCU_MODEL_H
#define TESTS_MODEL_RCU_MODEL_H

#include "model.h"

#define RCU_GP_LOCKED 1UL
#define RCU_GP_CTR    2UL

#define PAYLOAD_OLD  1
#define PAYLOAD_NEW  2
#define PAYLOAD_DEAD 0xdead

/* normal_polls value: the grace period never leaves the normal state. */
#define NEVER_FORCE (-1)

/* Scans of rcu_wait_recheck(), which rescans for RCU_RECHECK_NS. */
#define RECHECK_SCANS 2

struct ModelNode {
    rl::var<int> payload;
};

/*
 * @Sleeper: rcu_gp_sleeper, a QemuEvent in the standalone library
 * (ModelEvent) or a flag, mutex and condition variable inside QEMU
 * (ModelCondSleeper).
 */
template<typename Sleeper>
struct RcuCore {
    ModelMembarrier mb;
    Sleeper rcu_gp_sleeper;
    rl::atomic<unsigned long> rcu_gp_ctr;
    /* rcu_online.count; the writer is never counted in it. */
    rl::atomic<int> online_count;
    /* The reader's struct rcu_reader_data. */
    rl::atomic<unsigned long> ctr;
    rl::atomic<bool> waiting;
    /* The RCU-protected pointer, as an index into node[]. */
    rl::atomic<int> cur;
    ModelNode node[2];
    /* Polls in the normal state before the grace period forces. */
    int normal_polls;

    /*
     * @inside: the reader starts inside a critical section that began
     * before the writer's update and that has already loaded node 0.
     */
    void init(bool membarrier, int polls, bool online, bool inside)
    {
        mb.init(membarrier, 1);
        normal_polls = polls;
        rcu_gp_sleeper.init(false);
        rcu_gp_ctr($) = RCU_GP_LOCKED;
        online_count($) = online ? 1 : 0;
        ctr($) = inside ? RCU_GP_LOCKED : 0;
        waiting($) = false;
        cur($) = 0;
        node[0].payload($) = PAYLOAD_OLD;
        node[1].payload($) = 0;
    }

    /* ---- reader side; mb.point() marks where membarrier may land ---- */

    void rcu_read_lock(void)
    {
        unsigned long c;

        mb.point(0);
        c = qatomic_read(rcu_gp_ctr);
        mb.point(0);
        qatomic_set(ctr, c);
        mb.point(0);
#ifndef MODEL_BUG_LOCK_NO_BARRIER
        /* Pairs with smp_mb_global() in synchronize_rcu(). */
        mb.placeholder();
#endif
        mb.point(0);
    }

    void rcu_read_unlock(void)
    {
        mb.point(0);
#ifdef MODEL_BUG_UNLOCK_RELAXED
        qatomic_set(ctr, 0UL);
#else
        /* Pairs with the load-acquire in rcu_gp_ongoing(). */
        qatomic_store_release(ctr, 0UL);
#endif
        /*
         * Only a compiler barrier before the load of waiting, in both
         * configurations.  With membarrier, smp_mb_global() after the
         * writer sets waiting still orders the handshake; with fences
         * nothing does, and the writer's rcu_wait_recheck() and timed
         * rcu_wait_sleep() make up for a wake-up this load misses.
         */
        mb.point(0);
        if (qatomic_read(waiting)) {
            mb.point(0);
            qatomic_set(waiting, false);
            mb.point(0);
            rcu_gp_sleeper.set();
        }
        mb.point(0);
    }

    /* The protected access: load the pointer, read what it points to. */
    void read_current(void)
    {
        int idx;

        idx = qatomic_rcu_read(cur);
        mb.point(0);
        read_node(idx);
    }

    void read_node(int idx)
    {
        int v = node[idx].payload($);

        MODEL_CHECK(v == (idx ? PAYLOAD_NEW : PAYLOAD_OLD), "payload intact");
        mb.point(0);
    }

    /* rcu_set_online() */
    void rcu_set_online(bool online)
    {
        mb.point(0);
        if (online) {
            qatomic_inc(online_count);
            mb.point(0);
#ifndef MODEL_BUG_ONLINE_NO_BARRIER
            /* Pairs with the smp_mb() in rcu_mb_global(). */
            smp_mb();
#endif
        } else {
            /*
             * seq_cst, hence a release: pairs with the load-acquire of
             * the count in rcu_mb_global().
             */
            qatomic_dec(online_count);
        }
        mb.point(0);
    }

    /* ---- writer side ---- */

    /* rcu_mb_global(), called by a thread that is offline. */
    void rcu_mb_global(void)
    {
        int others;

        /* Orders the caller's earlier accesses before the count. */
        smp_mb();
#ifdef MODEL_BUG_RELAXED_ONLINE_COUNT
        others = qatomic_read(online_count);
#else
        /*
         * Acquire pairs with the seq_cst decrement in rcu_set_online():
         * a reader seen offline has left its critical section before
         * the scan's loads of ctr.
         */
        others = qatomic_load_acquire(online_count);
#endif
        if (others <= 0) {
            return;
        }
#ifdef MODEL_BUG_LOCAL_BARRIER
        smp_mb();
#else
        mb.global();
#endif
    }

    bool rcu_gp_ongoing(void)
    {
#ifdef MODEL_BUG_SCAN_UNORDERED
        unsigned long v = qatomic_read(ctr);
#else
        /* Pairs with the store-release in rcu_read_unlock(). */
        unsigned long v = qatomic_load_acquire(ctr);
#endif

        return v && v != qatomic_read(rcu_gp_ctr);
    }

    /*
     * rcu_wait_recheck(), in a forced pass with fences: a reader may have
     * loaded waiting before the writer's store reached it, while its
     * ctr = 0 had not reached the scan.  Scans again after smp_mb(), as
     * rcu_scan() does (clearing waiting).  No rl::yield() between the
     * scans: the model does not count on the recheck seeing the store,
     * which no architecture bounds; liveness is the timeout's.
     */
    bool rcu_wait_recheck(void)
    {
        if (mb.active) {
            return false;
        }
        for (int i = 0; i < RECHECK_SCANS; i++) {
            /* Pairs with the smp_mb() in a fences rcu_read_lock(). */
            smp_mb();
            if (!rcu_gp_ongoing()) {
                qatomic_set(waiting, false);
                return true;
            }
        }
        return false;
    }

    /*
     * rcu_wait_sleep() in the forced state: with fences the sleep always
     * has a timeout, after which wait_for_readers() runs another forced
     * pass; with membarrier only a reader's wake-up ends it.
     */
    void rcu_wait_sleep(void)
    {
#ifdef MODEL_BUG_FORCED_SLEEP_UNTIMED
        rcu_gp_sleeper.wait(false);
#else
        rcu_gp_sleeper.wait(!mb.active);
#endif
    }

    /*
     * wait_for_readers(): rcu_wait_update_state(), rcu_wait_prepare_scan(),
     * rcu_scan(), rcu_wait_recheck() and rcu_wait_sleep() in turn.
     */
    void wait_for_readers(void)
    {
        bool forced = false;
        int polls = 0;

        for (;;) {
            if (!forced && normal_polls != NEVER_FORCE &&
                polls >= normal_polls) {
                forced = true;
            }
            if (forced) {
                /* A reader leaving after the scan sets the event again. */
                rcu_gp_sleeper.reset();
                qatomic_set(waiting, true);
            }
            /* Orders waiting and rcu_gp_ctr before the loads of ctr. */
            rcu_mb_global();
            if (!rcu_gp_ongoing()) {
                qatomic_set(waiting, false);
                return;
            }
            if (!forced) {
                rl::yield(1, $);
                polls++;
                continue;
            }
            if (rcu_wait_recheck()) {
                return;
            }
            rcu_wait_sleep();
        }
    }

    /* synchronize_rcu() and rcu_advance_and_wait(), 64-bit counter. */
    void synchronize_rcu(void)
    {
        unsigned long gp = qatomic_read(rcu_gp_ctr);

        /* The caller's updates before the counter (weakly ordered host). */
        rcu_mb_global();
        qatomic_set(rcu_gp_ctr, gp + RCU_GP_CTR);
        wait_for_readers();
#ifndef MODEL_BUG_SCAN_UNORDERED
        /* The readers' sections before the caller's reclamation. */
        smp_mb();
#endif
    }

    /* The writer: replace node 0 by node 1, wait, free node 0. */
    void update_and_reclaim(void)
    {
        node[1].payload($) = PAYLOAD_NEW;
        qatomic_rcu_set(cur, 1);
        synchronize_rcu();
        /* g_free() from a call_rcu callback: a use after it is a race. */
        node[0].payload($) = PAYLOAD_DEAD;
    }
};

/*
 * Runs @Model<membarrier, normal_polls, sleeper> in ten configurations:
 * with and without membarrier, times a grace period that stays in the
 * normal state, one forced from the start (drain_call_rcu(), enough
 * callbacks) and one that polls once and then forces (force_after_us),
 * the last two with either kind of rcu_gp_sleeper.
 */
template<template<bool, int, typename> class Model>
static int rcu_model_main(const char *model, int argc, char **argv)
{
    unsigned it = model_iterations(argc, argv, 20000);
    ModelTally t = {};

    for (int m = 0; m < 2; m++) {
        bool mb = m;
        char name[80];

#define RCU_MODEL_RUN(desc, polls, sleeper) do {                           \
            std::snprintf(name, sizeof(name), "%s, %s",                    \
                          mb ? "membarrier" : "fence", desc);              \
            t.add(mb ? model_run<Model<true, polls, sleeper> >(name, it) : \
                       model_run<Model<false, polls, sleeper> >(name, it)); \
        } while (0)

        RCU_MODEL_RUN("normal", NEVER_FORCE, ModelEvent);
        RCU_MODEL_RUN("forced, event", 0, ModelEvent);
        RCU_MODEL_RUN("forced, condvar", 0, ModelCondSleeper);
        RCU_MODEL_RUN("normal then forced, event", 1, ModelEvent);
        RCU_MODEL_RUN("normal then forced, condvar", 1, ModelCondSleeper);
#undef RCU_MODEL_RUN
    }
    return t.verdict(model);
}

#endif /* TESTS_MODEL_RCU_MODEL_H */
