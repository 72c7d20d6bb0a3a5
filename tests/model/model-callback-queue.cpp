/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Model 3: the call_rcu1() queue against the call_rcu thread.
 *
 * Producers (call_rcu1()): the caller has filled its structure (payload)
 * and call_rcu1() stores func and clears next; then, under the
 * test-and-set lock (rcu_cbq_lock_acquire(): exchange(lock, 1, acquire),
 * spinning on relaxed loads; rcu_cbq_lock_release(): store-release of 0),
 * it notes whether the queue was empty, publishes the node with an atomic
 * store into *cbq.tail and advances cbq.tail.  After the lock it sets
 * rcu_call_ready_event if the queue was empty.
 *
 * Consumer (call_rcu_thread()): rcu_take_batch() takes the whole queue
 * under the lock.  With nothing to take it peeks at cbq.head without the
 * lock (rcu_spin_for_callbacks(), a relaxed load; one peek stands for the
 * bounded spin), then resets rcu_call_ready_event, takes again, and only
 * then waits for the event.  It runs each callback of a batch, reading
 * next, func and payload as plain fields.  The grace period it runs
 * between taking and running a batch (models 1 and 2) and the BQL are
 * left out; call_count and the statistics are not part of the handshake.
 *
 * Two producers, one consumer.  Properties:
 *  - every callback runs exactly once (a lost one leaves the consumer
 *    waiting: LIVELOCK; after() checks the counts);
 *  - func and payload, written by the producer before call_rcu1() took
 *    the lock, are rl::var: reading them in the call_rcu thread without
 *    happens-before is a DATA RACE;
 *  - no lost wake-up of the call_rcu thread (LIVELOCK otherwise).
 *
 * Faults that can be re-introduced, each of which must make the model
 * fail (tests/model/meson.build runs every one with should_fail):
 *  MODEL_BUG_CBQ_RELAXED_UNLOCK  rcu_cbq_lock_release() stores 0 relaxed,
 *                                so the node is published without a
 *                                release: DATA RACE, first on cbq.tail
 *                                (with tail made atomic, on func)
 *  MODEL_BUG_CBQ_NO_RECHECK      the call_rcu thread waits right after
 *                                resetting the event, without taking the
 *                                queue again: lost wake-up
 */
#include "model.h"

#define PRODUCERS 2
#define CB_FUNC   0x5ca1ab1e

struct ModelCb {
    rl::atomic<ModelCb *> next;
    rl::var<int> func;
    rl::var<int> payload;
};

struct CallbackQueue : rl::test_suite<CallbackQueue, PRODUCERS + 1> {
    /* cbq */
    rl::atomic<int> lock;
    rl::atomic<ModelCb *> head;
    rl::var<rl::atomic<ModelCb *> *> tail;
    ModelEvent rcu_call_ready_event;
    ModelCb cb[PRODUCERS];
    /* The consumer's own bookkeeping, read by after() only. */
    int ran[PRODUCERS];

    void before()
    {
        lock($) = 0;
        head($) = NULL;
        tail($) = &head;
        rcu_call_ready_event.init(false);
        for (int i = 0; i < PRODUCERS; i++) {
            ran[i] = 0;
        }
    }

    void after()
    {
        for (int i = 0; i < PRODUCERS; i++) {
            RL_ASSERT(ran[i] == 1);
        }
    }

    void rcu_cbq_lock_acquire(void)
    {
        /* Acquire pairs with the release in rcu_cbq_lock_release(). */
        while (lock.exchange(1, rl::mo_acquire, $)) {
            while (qatomic_read(lock)) {
                rl::yield(1, $);
            }
        }
    }

    void rcu_cbq_lock_release(void)
    {
#ifdef MODEL_BUG_CBQ_RELAXED_UNLOCK
        lock.store(0, rl::mo_relaxed, $);
#else
        lock.store(0, rl::mo_release, $);
#endif
    }

    void call_rcu1(ModelCb *node)
    {
        rl::atomic<ModelCb *> *t;
        bool was_empty;

        node->func($) = CB_FUNC;
        /* A plain store in call_rcu1(); next is atomic in the model. */
        qatomic_set(node->next, (ModelCb *)NULL);

        rcu_cbq_lock_acquire();
        was_empty = !qatomic_read(head);
        t = tail($);
        /* Atomic: the idle call_rcu thread peeks at head without the lock. */
        qatomic_set(*t, node);
        tail($) = &node->next;
        rcu_cbq_lock_release();

        /* The call_rcu thread only sleeps after finding the queue empty. */
        if (was_empty) {
            rcu_call_ready_event.set();
        }
    }

    ModelCb *rcu_take_batch(void)
    {
        ModelCb *node;

        rcu_cbq_lock_acquire();
        node = qatomic_read(head);
        if (node) {
            qatomic_set(head, (ModelCb *)NULL);
            tail($) = &head;
        }
        rcu_cbq_lock_release();
        return node;
    }

    void run_batch(ModelCb *node, int *done)
    {
        while (node) {
            ModelCb *next = qatomic_read(node->next);
            int idx = (int)(node - cb);

            RL_ASSERT(node->func($) == CB_FUNC);
            RL_ASSERT(node->payload($) == 100 + idx);
            ran[idx]++;
            (*done)++;
            node = next;
        }
    }

    void call_rcu_thread(void)
    {
        int done = 0;

        while (done < PRODUCERS) {
            ModelCb *node = rcu_take_batch();

            while (!node) {
                /* rcu_spin_for_callbacks(), one look. */
                if (!qatomic_read(head)) {
                    /* A producer finding the queue empty sets it again. */
                    rcu_call_ready_event.reset();
#ifndef MODEL_BUG_CBQ_NO_RECHECK
                    node = rcu_take_batch();
                    if (node) {
                        break;
                    }
#endif
                    rcu_call_ready_event.wait();
                }
                node = rcu_take_batch();
            }
            run_batch(node, &done);
        }
    }

    void thread(unsigned index)
    {
        if (index == PRODUCERS) {
            call_rcu_thread();
            return;
        }
        /* The caller fills its structure before handing it over. */
        cb[index].payload($) = 100 + (int)index;
        call_rcu1(&cb[index]);
    }
};

int main(int argc, char **argv)
{
    unsigned it = model_iterations(argc, argv, 50000);
    ModelTally t = {};

    t.add(model_run<CallbackQueue>("two producers, one consumer", it));
    return t.verdict("model-callback-queue");
}
