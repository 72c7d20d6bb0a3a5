/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Shared pieces of the Relacy models of util/rcu.c (docs/model-checking.md).
 *
 * Relacy runs every thread of a test as a fiber of one process and, at
 * each atomic access, lets a scheduler pick the next thread and the value
 * a load returns among those the C++11 memory model allows.  rl::var<T>
 * is a plain variable whose accesses are checked for data races and for
 * use after free.
 *
 * The macros below spell the models in the vocabulary of util/rcu.c so
 * that each step can be compared with the line it stands for.  QEMU's
 * qatomic_read()/qatomic_set() are relaxed C11 atomics; barrier() has no
 * counterpart because a relaxed C11 access may already be reordered by the
 * hardware, which is what a compiler barrier leaves possible.
 */
#ifndef TESTS_MODEL_MODEL_H
#define TESTS_MODEL_MODEL_H

#include <relacy/relacy.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdint.h>

#define qatomic_read(a)             ((a).load(rl::mo_relaxed, $))
#define qatomic_set(a, v)           ((a).store((v), rl::mo_relaxed, $))
#define qatomic_load_acquire(a)     ((a).load(rl::mo_acquire, $))
#define qatomic_store_release(a, v) ((a).store((v), rl::mo_release, $))
/* qatomic_rcu_read() is a consume load; compilers make it an acquire. */
#define qatomic_rcu_read(a)         ((a).load(rl::mo_acquire, $))
#define qatomic_rcu_set(a, v)       ((a).store((v), rl::mo_release, $))
/* qatomic_inc()/qatomic_dec() and __atomic RMWs default to seq_cst. */
#define qatomic_inc(a)              ((a).fetch_add(1, rl::mo_seq_cst, $))
#define qatomic_dec(a)              ((a).fetch_sub(1, rl::mo_seq_cst, $))
#define smp_mb()                    rl::atomic_thread_fence(rl::mo_seq_cst, $)

/*
 * How the models treat membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED).
 *
 * The kernel guarantees that when the call returns, every other running
 * thread of the process has executed a full barrier at some point P of
 * its program that lies within the call: the caller's accesses before
 * the call are visible after P, and the thread's accesses before P are
 * visible to the caller after the call.  A thread that is not running
 * passes through the scheduler, which has the same effect.
 *
 * The model makes P explicit.  The writer's smp_mb_global() publishes a
 * new request generation and waits until every reader has acknowledged
 * it.  Each reader calls point() between any two of its shared
 * accesses -- every place an interrupt could land -- and there, if it
 * can see a request it has not acknowledged, executes a seq_cst fence
 * and acknowledges.  The request is read with acquire and the
 * acknowledgement written with release, so P is ordered after the
 * call's start and before its end by happens-before, exactly the window
 * the kernel promises; the scheduler picks where in the reader P falls.
 * A reader that has finished acknowledges every later request, as a
 * thread that is not running would.  The reader's smp_mb_placeholder()
 * is then nothing at all: it is only a compiler barrier.
 *
 * With membarrier unavailable (or QEMU_RCU_MEMBARRIER=0) both
 * smp_mb_global() and smp_mb_placeholder() are smp_mb(), and point()
 * does nothing.  Models 1 and 2 run in both configurations.
 */
#define MODEL_MAX_READERS 4

struct ModelMembarrier {
    bool active;
    int nreaders;
    rl::atomic<unsigned> req;
    rl::atomic<unsigned> ack[MODEL_MAX_READERS];
    /* Per reader; only that reader's fiber touches its slot. */
    unsigned seen[MODEL_MAX_READERS];

    void init(bool membarrier, int readers)
    {
        active = membarrier;
        nreaders = readers;
        req($) = 0;
        for (int i = 0; i < MODEL_MAX_READERS; i++) {
            ack[i]($) = 0;
            seen[i] = 0;
        }
    }

    /* smp_mb_global() in util/sys_membarrier.c. */
    void global(void)
    {
        unsigned gen;

        smp_mb();
        if (!active) {
            return;
        }
        gen = req.load(rl::mo_relaxed, $) + 1;
        req.store(gen, rl::mo_seq_cst, $);
        for (int i = 0; i < nreaders; i++) {
            while (ack[i].load(rl::mo_acquire, $) < gen) {
                rl::yield(1, $);
            }
        }
        smp_mb();
    }

    /* A point where reader @r may take the barrier's interrupt. */
    void point(int r)
    {
        unsigned gen;

        if (!active) {
            return;
        }
        gen = req.load(rl::mo_acquire, $);
        if (gen > seen[r]) {
            smp_mb();
            ack[r].store(gen, rl::mo_release, $);
            seen[r] = gen;
        }
    }

    /* Reader @r is done: it passes every later barrier trivially. */
    void leave(int r)
    {
        if (!active) {
            return;
        }
        smp_mb();
        ack[r].store(UINT_MAX, rl::mo_release, $);
    }

    /* smp_mb_placeholder() in include/qemu/sys_membarrier.h. */
    void placeholder(void)
    {
        if (!active) {
            smp_mb();
        }
    }
};

/*
 * A timed wait's timeout: whether it expires at this check of the
 * sleeper, drawn by the scheduler like every other choice, so that a
 * failing iteration replays.  The sleepers check only after an
 * rl::yield(), and Relacy lets a load that follows a yield return only
 * a store newer than any the thread had seen before it, when there is
 * one: the scan after a timeout sees the reader's ctr = 0 if it has
 * been stored by then, as a real sleep of a millisecond would.
 */
static inline bool model_timed_out(void)
{
    return rl::rand(2) == 0;
}

/*
 * QemuEvent as util/qemu-thread-posix.c implements it, without the
 * futex: the value is SET or not, and qemu_event_wait() spins with
 * rl::yield() until it reads SET.  A wait without a timeout that nothing
 * will ever end keeps spinning until Relacy's execution depth limit
 * reports it as a LIVELOCK: that is how a lost wake-up shows up.
 */
struct ModelEvent {
    rl::atomic<int> value;

    void init(bool set)
    {
        value($) = set ? 1 : 0;
    }

    void set(void)
    {
        /* The barrier pairs with the one at the end of reset(). */
        smp_mb();
        if (value.load(rl::mo_relaxed, $) != 1) {
            /* Release pairs with the acquire in wait(). */
            value.exchange(1, rl::mo_release, $);
        }
    }

    void reset(void)
    {
        int expected = 1;

        value.compare_exchange_strong(expected, 0, rl::mo_seq_cst, $);
        /* smp_mb__after_rmw(): pairs with the barrier in set(). */
        smp_mb();
    }

    /* qemu_event_wait(), or qemu_event_timedwait_ns() if @timed. */
    void wait(bool timed = false)
    {
        while (value.load(rl::mo_acquire, $) != 1) {
            rl::yield(1, $);
            if (timed && model_timed_out()) {
                return;
            }
        }
    }
};

/*
 * RcuSleeper inside QEMU, whose QemuEvent has no timed wait: a flag under
 * a mutex, with a condition variable.  The mutex is a test-and-set lock
 * here (acquire exchange, release store), which orders no more than a
 * pthread mutex does.  The wait loops until it finds the flag set under
 * the lock: wait_for_readers() scans again after any return, and a wake
 * cannot fall between the check and the sleep, both being under the
 * mutex.  Same interface as ModelEvent.
 */
struct ModelCondSleeper {
    rl::atomic<int> lock;
    rl::var<bool> woken;

    void init(bool set)
    {
        lock($) = 0;
        woken($) = set;
    }

    void mutex_lock(void)
    {
        while (lock.exchange(1, rl::mo_acquire, $)) {
            rl::yield(1, $);
        }
    }

    void mutex_unlock(void)
    {
        lock.store(0, rl::mo_release, $);
    }

    /* rcu_sleeper_wake() */
    void set(void)
    {
        mutex_lock();
        woken($) = true;
        mutex_unlock();
    }

    /* rcu_sleeper_reset() */
    void reset(void)
    {
        mutex_lock();
        woken($) = false;
        mutex_unlock();
    }

    /* rcu_sleeper_wait(); with a timeout (qemu_cond_timedwait()) if @timed */
    void wait(bool timed = false)
    {
        for (;;) {
            bool w;

            mutex_lock();
            w = woken($);
            mutex_unlock();
            if (w) {
                return;
            }
            rl::yield(1, $);
            if (timed && model_timed_out()) {
                return;
            }
        }
    }
};

/*
 * Relacy's random scheduler with a better generator.  Relacy's own draws
 * every decision from bit 16 of a linear congruential generator seeded
 * with the iteration number; consecutive decisions are so correlated that
 * some interleavings are never produced: adding one unrelated load to a
 * model was enough to hide a data race it found in 2,500 iterations for
 * more than a million.  SplitMix64, seeded with the iteration number,
 * keeps runs reproducible (a failing iteration is replayed with its
 * history) without that blind spot.  The random scheduler is the one
 * that lets a relaxed load return any of the last few stores; the
 * context-bound and full-search schedulers only ever go one store back.
 */
template<rl::thread_id_t thread_count>
class ModelScheduler
    : public rl::scheduler<ModelScheduler<thread_count>,
                           rl::scheduler_thread_info, thread_count> {
public:
    typedef rl::scheduler<ModelScheduler<thread_count>,
                          rl::scheduler_thread_info, thread_count> base_t;
    typedef typename base_t::shared_context_t shared_context_t;

    struct task_t {
    };

    ModelScheduler(rl::test_params &params, shared_context_t &ctx,
                   rl::thread_id_t dynamic_thread_count)
        : base_t(params, ctx, dynamic_thread_count), state(0)
    {
    }

    rl::thread_id_t iteration_begin_impl()
    {
        rl::unpark_reason reason;

        state = this->iter_;
        return schedule_impl(reason, 0);
    }

    bool iteration_end_impl()
    {
        return this->iter_ == this->params_.iteration_count;
    }

    rl::thread_id_t schedule_impl(rl::unpark_reason &reason,
                                  unsigned yield)
    {
        rl::thread_id_t n = this->running_threads_count;

        (void)yield;
        /*
         * None of Relacy's timed or spurious waits: a timed wait is
         * model_timed_out(), and rl::mutex blocks without a timeout.
         */
        RL_VERIFY(this->timed_thread_count_ == 0);
        RL_VERIFY(n);
        reason = rl::unpark_reason_normal;
        return this->running_threads[next() % n];
    }

    unsigned rand_impl(unsigned limit, rl::sched_type t)
    {
        (void)t;
        return (unsigned)(next() % limit);
    }

    rl::iteration_t iteration_count_impl()
    {
        return this->params_.iteration_count;
    }

    void get_state_impl(std::ostream &ss)
    {
        (void)ss;
    }

    void set_state_impl(std::istream &ss)
    {
        (void)ss;
    }

    void on_thread_block(rl::thread_id_t th, bool yield)
    {
        (void)th;
        (void)yield;
    }

private:
    uint64_t state;

    /* SplitMix64 (Steele, Lea, Flood: "Fast splittable PRNGs", 2014). */
    uint64_t next(void)
    {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

/*
 * The name of the MODEL_CHECK() that failed in the current execution, or
 * NULL: model_run() prints it after Relacy's "USER ASSERT FAILED", so that
 * a faulty variant's verdict says which property broke, not only that one
 * did.
 */
static const char *model_failed_check;

/* RL_ASSERT() with a name for the property it checks. */
#define MODEL_CHECK(cond, name) do {                                        \
        bool model_check_ok_ = (cond);                                      \
        if (!model_check_ok_) {                                             \
            model_failed_check = (name);                                    \
        }                                                                   \
        RL_ASSERT(model_check_ok_);                                         \
    } while (0)

/* What model_run() found. */
enum ModelOutcome {
    MODEL_HOLDS,
    MODEL_VIOLATED,     /* the checker found a counterexample */
    MODEL_BROKEN,       /* the model itself misbehaved */
};

/*
 * Runs one Relacy test for @iterations random executions; on a failure,
 * replays the failing iteration and prints its history.  An execution
 * that takes more than @depth scheduling points is a LIVELOCK.
 */
template<typename Test>
static ModelOutcome model_run(const char *name, unsigned iterations,
                              unsigned depth = 4000)
{
    typedef ModelScheduler<Test::params::thread_count> Sched;
    rl::test_params p;
    std::ostringstream state;
    ModelOutcome outcome;
    rl::test_result_e res;

    p.iteration_count = iterations;
    /* Lets relaxed loads go further back than one store. */
    p.search_type = rl::random_scheduler_type;
    /* Scheduling points per iteration before a spin counts as LIVELOCK. */
    p.execution_depth_limit = depth;
    p.test_name = name;
    std::printf("=== %s: %u iterations\n", name, iterations);
    std::fflush(stdout);

    model_failed_check = NULL;
    res = rl::run_test<Test, Sched>(p, state, false);
    if (res == rl::test_result_success) {
        outcome = MODEL_HOLDS;
    } else {
        std::ostringstream replay;
        rl::iteration_t stop = p.stop_iteration;

        std::printf("%s at iteration %llu; its history:\n",
                    rl::test_result_str(res), (unsigned long long)stop);
        std::fflush(stdout);
        p.initial_state = state.str();
        p.collect_history = true;
        model_failed_check = NULL;
        if (rl::run_test<Test, Sched>(p, replay, true) != res ||
            p.stop_iteration != stop) {
            std::printf("replay differs: the model is not deterministic\n");
            outcome = MODEL_BROKEN;
        } else {
            switch (res) {
            case rl::test_result_user_assert_failed:
            case rl::test_result_user_invariant_failed:
            case rl::test_result_data_race:
            /* A plain variable read before its store is visible. */
            case rl::test_result_unitialized_access:
            case rl::test_result_access_to_freed_memory:
            case rl::test_result_livelock:
            case rl::test_result_deadlock:
                outcome = MODEL_VIOLATED;
                break;
            default:
                outcome = MODEL_BROKEN;
                break;
            }
        }
    }
    /*
     * The line tests/model/model-verdict.py judges: "(KIND)", or
     * "(KIND: check)" for a failed MODEL_CHECK().
     */
    std::printf("=== %s: %s (%s%s%s)\n", name,
                outcome == MODEL_HOLDS ? "holds" :
                outcome == MODEL_VIOLATED ? "VIOLATED" : "MODEL ERROR",
                rl::test_result_str(res),
                model_failed_check ? ": " : "",
                model_failed_check ? model_failed_check : "");
    std::fflush(stdout);
    return outcome;
}

/* Iterations per test: argv[1] if given, else @def. */
static inline unsigned model_iterations(int argc, char **argv, unsigned def)
{
    if (argc > 1) {
        return (unsigned)std::strtoul(argv[1], NULL, 0);
    }
    return def;
}

/* Tallies the configurations a model program runs. */
struct ModelTally {
    int total;
    int violated;
    int broken;

    void add(ModelOutcome o)
    {
        total++;
        violated += o == MODEL_VIOLATED;
        broken += o == MODEL_BROKEN;
    }

    /*
     * Prints the verdict and turns it into an exit code: 1 when a
     * property is violated (what the faulty variants expect), 99 -- a
     * hard error for meson even with should_fail -- when the model
     * itself is broken.  Not in the "N passed, N failed" form on
     * purpose: the faulty variants' logs must not read as a test
     * runner's summary.
     */
    int verdict(const char *model)
    {
        if (broken) {
            std::printf("%s: model error in %d of %d configurations\n",
                        model, broken, total);
            return 99;
        }
        if (violated) {
            std::printf("%s: violated in %d of %d configurations\n",
                        model, violated, total);
            return 1;
        }
        std::printf("%s: holds in %s%d configuration%s\n", model,
                    total > 1 ? "all " : "", total, total > 1 ? "s" : "");
        return 0;
    }
};

#endif /* TESTS_MODEL_MODEL_H */
