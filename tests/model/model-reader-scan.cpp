/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Model 1: rcu_read_lock()/rcu_read_unlock() against the writer's scan
 * in wait_for_readers(), in the normal and in the forced state, with and
 * without membarrier (see model.h for how membarrier is modelled).
 *
 * Threads: a writer and one reader (rcu-model.h has the shared code).
 * The reader stays online, so rcu_mb_global() never takes its shortcut
 * for offline threads; that is model 2's subject (model-online.cpp).
 *
 * Writer (synchronize_rcu() on a weakly ordered host, RCU_HOST_TSO == 0):
 *   publish node 1 with qatomic_rcu_set(); rcu_mb_global(); advance
 *   rcu_gp_ctr; wait_for_readers(); then "free" node 0 by writing a
 *   poison value into its rl::var payload.
 * wait_for_readers(): in the forced state reset rcu_gp_sleeper and set the
 *   reader's waiting flag; rcu_mb_global(); rcu_gp_ongoing() (load-acquire
 *   of ctr); if the reader is still inside, either poll again (normal
 *   state, a yield) or, in the forced state, with fences scan again after
 *   smp_mb() (rcu_wait_recheck(), RECHECK_SCANS times) and then sleep on
 *   rcu_gp_sleeper with a timeout, with membarrier sleep until woken; then
 *   another pass.  The normal state switches to the forced one after
 *   NormalPolls polls, as rcu_should_force() does after force_after_us.
 * Reader: two critical sections in a row -- the second may start with a
 *   stale rcu_gp_ctr and then counts as a reader the writer must wait
 *   for -- each reading the current node's payload.  Its unlock has no
 *   fence between ctr = 0 and the load of waiting in either
 *   configuration.
 *
 * Properties:
 *  - no use after free: the writer's poison store into node 0 and a
 *    reader's load of node 0's payload must be ordered by happens-before,
 *    or Relacy reports a DATA RACE (the reader also asserts that it never
 *    reads the poison);
 *  - node 1's payload is published before the pointer (same check);
 *  - no writer left asleep: an untimed sleep on rcu_gp_sleeper must be
 *    woken, otherwise its wait spins until Relacy reports a LIVELOCK; a
 *    timed one (fences) may time out at any check (model_timed_out()),
 *    and the passes after it must see the reader leave before Relacy's
 *    execution-depth limit, or that is a LIVELOCK too.
 *
 * Faults that can be re-introduced, each of which must make the model
 * fail (tests/model/meson.build runs each through model-verdict.py):
 *  MODEL_BUG_LOCK_NO_BARRIER    rcu_read_lock() without
 *                               smp_mb_placeholder(): the store to ctr is
 *                               not ordered before the load of the pointer
 *  MODEL_BUG_UNLOCK_RELAXED     ctr = 0 stored relaxed instead of release
 *  MODEL_BUG_SCAN_UNORDERED     rcu_gp_ongoing() loads ctr relaxed and
 *                               synchronize_rcu() has no smp_mb() after
 *                               wait_for_readers(): nothing orders the
 *                               reader's section before the free.  The
 *                               relaxed load alone is harmless: the
 *                               smp_mb() makes it an acquire (the model
 *                               holds with only the load made relaxed).
 *  MODEL_BUG_LOCAL_BARRIER      smp_mb_global() replaced by smp_mb()
 *                               although readers rely on membarrier
 *  MODEL_BUG_FORCED_SLEEP_UNTIMED  the forced sleep has no timeout with
 *                               fences either: the reader's unlock and
 *                               the writer's scan miss each other, and
 *                               the writer sleeps forever (LIVELOCK)
 */
#include "rcu-model.h"

#define READER_SECTIONS 2

template<bool Membarrier, int NormalPolls, typename Sleeper>
struct ReaderScan
    : rl::test_suite<ReaderScan<Membarrier, NormalPolls, Sleeper>, 2> {
    RcuCore<Sleeper> rcu;

    void before()
    {
        rcu.init(Membarrier, NormalPolls, true, false);
    }

    void thread(unsigned index)
    {
        if (index == 0) {
            rcu.update_and_reclaim();
            return;
        }
        for (int s = 0; s < READER_SECTIONS; s++) {
            rcu.rcu_read_lock();
            rcu.read_current();
            rcu.rcu_read_unlock();
        }
        rcu.mb.leave(0);
    }
};

int main(int argc, char **argv)
{
    return rcu_model_main<ReaderScan>("model-reader-scan", argc, argv);
}
