/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Sanity check of the checker: store buffering, the pattern every
 * handshake of util/rcu.c is built on (a store, a full barrier, a load of
 * what the other side stored).  Each thread stores 1 into its flag and
 * loads the other's; at least one of them must see a 1.  This holds with
 * seq_cst accesses and with relaxed accesses separated by seq_cst fences
 * on both sides, and must fail with relaxed accesses and a fence on one
 * side only -- which also shows that ModelScheduler lets loads read stale
 * values.
 *
 * Fault: MODEL_BUG_SB_ONE_FENCE  the second thread has no fence.
 */
#include "model.h"

template<bool Fences>
struct StoreBuffering : rl::test_suite<StoreBuffering<Fences>, 2> {
    rl::atomic<int> flag[2];
    int seen[2];

    void before()
    {
        flag[0]($) = 0;
        flag[1]($) = 0;
    }

    void thread(unsigned me)
    {
        rl::memory_order mo = Fences ? rl::mo_relaxed : rl::mo_seq_cst;

        flag[me].store(1, mo, $);
#ifdef MODEL_BUG_SB_ONE_FENCE
        if (Fences && me == 0) {
            smp_mb();
        }
#else
        if (Fences) {
            smp_mb();
        }
#endif
        seen[me] = flag[1 - me].load(mo, $);
    }

    void after()
    {
        MODEL_CHECK(seen[0] == 1 || seen[1] == 1,
                    "a load sees the other store");
    }
};

int main(int argc, char **argv)
{
    unsigned it = model_iterations(argc, argv, 20000);
    ModelTally t = {};

    t.add(model_run<StoreBuffering<false> >("seq_cst accesses", it));
    t.add(model_run<StoreBuffering<true> >("relaxed accesses, fences", it));
    return t.verdict("model-store-buffering");
}
