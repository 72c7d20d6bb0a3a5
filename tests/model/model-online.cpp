/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Model 2: a reader going offline and coming back online against the
 * shortcut of rcu_mb_global(), which skips smp_mb_global() when no other
 * thread is online:
 *
 *   smp_mb(); others = load(rcu_online.count) - self;
 *   if (others <= 0) return;   (no membarrier)
 *   smp_mb_global();
 *
 * after which wait_for_readers() scans with load-acquires of ctr.
 *
 * Threads (rcu-model.h has the shared code): a writer that is offline
 * itself, as the call_rcu thread is during synchronize_rcu(), and one
 * reader that starts online and inside a critical section begun before
 * the writer's update, then
 *   - leaves it: rcu_read_unlock() (store-release of ctr = 0, compiler
 *     barrier, load of waiting; if set, clear it and set rcu_gp_sleeper);
 *   - goes offline: rcu_set_online(false), a seq_cst decrement of the
 *     count;
 *   - comes back online: rcu_set_online(true), a seq_cst increment and
 *     smp_mb();
 *   - runs a second critical section, which loads whichever node is
 *     current, and goes offline again.
 * The writer publishes node 1, runs synchronize_rcu() and "frees" node 0
 * (see model-reader-scan.cpp for the properties checked: no data race on
 * the payloads, the poison never read, no writer left asleep).
 *
 * The lost wake-up this model was written for: with a relaxed load of
 * the count, nothing orders it before the scan's loads of ctr.  On a
 * weakly ordered host the writer can see the reader offline -- and skip
 * the membarrier -- yet read a ctr from before the reader's unlock, still
 * inside.  In the forced state it then sleeps on rcu_gp_sleeper, which the
 * reader never sets: its unlock loaded waiting before the writer stored
 * it, and without the membarrier nothing made that store visible.  The
 * load-acquire of the count, pairing with the release in the reader's
 * seq_cst decrement, makes the reader's ctr = 0 visible to the scan.
 *
 * Faults that can be re-introduced, each of which must make the model
 * fail (tests/model/meson.build runs each through model-verdict.py):
 *  MODEL_BUG_RELAXED_ONLINE_COUNT  the count is loaded relaxed: LIVELOCK
 *                                  (the writer sleeps forever) with
 *                                  membarrier in the forced state
 *  MODEL_BUG_ONLINE_NO_BARRIER     rcu_set_online(true) without its
 *                                  smp_mb(): the writer skips the
 *                                  membarrier while the reader enters a
 *                                  section with the old pointer
 *  MODEL_BUG_FORCED_SLEEP_UNTIMED  the forced sleep has no timeout with
 *                                  fences either: LIVELOCK with fences
 *                                  in the forced state (see
 *                                  model-reader-scan.cpp)
 */
#include "rcu-model.h"

template<bool Membarrier, int NormalPolls, typename Sleeper>
struct Online
    : rl::test_suite<Online<Membarrier, NormalPolls, Sleeper>, 2> {
    RcuCore<Sleeper> rcu;

    void before()
    {
        rcu.init(Membarrier, NormalPolls, true, true);
    }

    void thread(unsigned index)
    {
        if (index == 0) {
            rcu.update_and_reclaim();
            return;
        }
        /* The section that began before the update still uses node 0. */
        rcu.read_node(0);
        rcu.rcu_read_unlock();
        rcu.rcu_set_online(false);
        rcu.rcu_set_online(true);
        rcu.rcu_read_lock();
        rcu.read_current();
        rcu.rcu_read_unlock();
        rcu.rcu_set_online(false);
        rcu.mb.leave(0);
    }
};

int main(int argc, char **argv)
{
    return rcu_model_main<Online>("model-online", argc, argv);
}
