/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The standalone Big QEMU Lock: a process-wide mutex plus a per-thread
 * "held" flag for bql_locked().  An application may replace all three
 * calls with bql_set_lock_functions().
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"
#include "qemu/rcu-ext.h"

static pthread_mutex_t bql_mutex = PTHREAD_MUTEX_INITIALIZER;
static __thread bool bql_held;
static const BQLFunctions *bql_override;

void bql_set_lock_functions(const BQLFunctions *funcs)
{
    assert(!funcs || (funcs->lock && funcs->unlock && funcs->locked));
    assert(!bql_locked());
    qatomic_set(&bql_override, funcs);
}

void bql_lock_impl(const char *file, int line)
{
    const BQLFunctions *funcs = qatomic_read(&bql_override);

    if (funcs) {
        funcs->lock();
        return;
    }
    if (unlikely(bql_held)) {
        fprintf(stderr, "qemu-rcu: %s:%d: bql_lock() while holding the BQL\n",
                file, line);
        abort();
    }
    pthread_mutex_lock(&bql_mutex);
    bql_held = true;
}

void bql_unlock(void)
{
    const BQLFunctions *funcs = qatomic_read(&bql_override);

    if (funcs) {
        funcs->unlock();
        return;
    }
    if (unlikely(!bql_held)) {
        fprintf(stderr, "qemu-rcu: bql_unlock() without holding the BQL\n");
        abort();
    }
    bql_held = false;
    pthread_mutex_unlock(&bql_mutex);
}

/*
 * A child of fork() has only the forking thread.  If that thread did not
 * hold the BQL, whoever held it (the call_rcu thread in a callback, say)
 * is gone, and the child gets a free lock; what the holder was changing
 * under it is left as it was, as with any lock held across fork().
 * An application lock installed with bql_set_lock_functions() is the
 * application's to restore (docs/rcu.md, "fork()").
 */
static void bql_atfork_child(void)
{
    if (!bql_held) {
        pthread_mutex_init(&bql_mutex, NULL);
    }
}

/*
 * Registered before the RCU core's handlers (a constructor priority runs
 * first), so that the lock is free before the child's new call_rcu
 * thread, started by the core's child handler, asks for it.
 */
static void __attribute__((__constructor__(101))) bql_init(void)
{
    pthread_atfork(NULL, NULL, bql_atfork_child);
}

bool bql_locked(void)
{
    const BQLFunctions *funcs = qatomic_read(&bql_override);

    return funcs ? funcs->locked() : bql_held;
}
