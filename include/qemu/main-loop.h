/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The Big QEMU Lock (BQL), standalone.
 *
 * Outside QEMU the BQL is a real process-wide mutex with the same calls
 * as QEMU's.  The call_rcu thread takes it around callbacks, exactly as
 * QEMU does.  An application that already has a big lock of its own can
 * route the BQL calls to it with bql_set_lock_functions() from
 * "qemu/rcu-ext.h".
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <stdbool.h>

#define bql_lock() bql_lock_impl(__FILE__, __LINE__)
void bql_lock_impl(const char *file, int line);
void bql_unlock(void);
/* True if the calling thread holds the BQL. */
bool bql_locked(void);

typedef struct BQLLockAuto BQLLockAuto;

static inline BQLLockAuto *bql_auto_lock(const char *file, int line)
{
    bql_lock_impl(file, line);
    return (BQLLockAuto *)(uintptr_t)1;
}

static inline void bql_auto_unlock(BQLLockAuto *l)
{
    (void)l;
    bql_unlock();
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BQLLockAuto, bql_auto_unlock)

#define BQL_LOCK_GUARD() \
    g_autoptr(BQLLockAuto) glue(bql_auto, __COUNTER__) G_GNUC_UNUSED \
        = bql_auto_lock(__FILE__, __LINE__)

#endif /* QEMU_MAIN_LOOP_H */
