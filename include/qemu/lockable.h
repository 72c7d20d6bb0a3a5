/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * QemuLockable: one handle for the different lock types, and scoped
 * guards built on it (QEMU_LOCK_GUARD, WITH_QEMU_LOCK_GUARD).
 */
#ifndef QEMU_LOCKABLE_H
#define QEMU_LOCKABLE_H

#include "qemu/thread.h"

typedef void QemuLockUnlockFunc(void *);

typedef struct QemuLockable {
    void *object;
    QemuLockUnlockFunc *lock;
    QemuLockUnlockFunc *unlock;
} QemuLockable;

static inline void qemu_lockable_mutex_lock(void *m)
{
    qemu_mutex_lock((QemuMutex *)m);
}

static inline void qemu_lockable_mutex_unlock(void *m)
{
    qemu_mutex_unlock((QemuMutex *)m);
}

static inline void qemu_lockable_rec_mutex_lock(void *m)
{
    qemu_rec_mutex_lock((QemuRecMutex *)m);
}

static inline void qemu_lockable_rec_mutex_unlock(void *m)
{
    qemu_rec_mutex_unlock((QemuRecMutex *)m);
}

static inline void qemu_lockable_spin_lock(void *s)
{
    qemu_spin_lock((QemuSpin *)s);
}

static inline void qemu_lockable_spin_unlock(void *s)
{
    qemu_spin_unlock((QemuSpin *)s);
}

#define QEMU_LOCKABLE_FUNC_(x, op)                                  \
    _Generic((x), QemuMutex *: qemu_lockable_mutex_##op,            \
                  QemuRecMutex *: qemu_lockable_rec_mutex_##op,     \
                  QemuSpin *: qemu_lockable_spin_##op)

/* A compound literal: valid until the end of the enclosing block. */
#define QEMU_MAKE_LOCKABLE_NONNULL_(x)                              \
    (&(QemuLockable) {                                              \
        .object = (x),                                              \
        .lock = QEMU_LOCKABLE_FUNC_((x), lock),                     \
        .unlock = QEMU_LOCKABLE_FUNC_((x), unlock),                 \
    })

/*
 * A QemuLockable is passed through; the NULL test lives in a function
 * so that QEMU_LOCK_GUARD(&m) raises no "address is always true".
 */
static inline QemuLockable *qemu_null_lockable(void *x, QemuLockable *l)
{
    return x ? l : NULL;
}

#define QEMU_MAKE_LOCKABLE_NONNULL(x)                               \
    _Generic((x), QemuLockable *: (x),                              \
             default: QEMU_MAKE_LOCKABLE_NONNULL_(                  \
                 _Generic((x), QemuLockable *: (QemuMutex *)NULL,   \
                          default: (x))))

#define QEMU_MAKE_LOCKABLE(x)                                       \
    _Generic((x), QemuLockable *: (x),                              \
             default: qemu_null_lockable((void *)(x),               \
                 QEMU_MAKE_LOCKABLE_NONNULL_(                       \
                     _Generic((x), QemuLockable *: (QemuMutex *)NULL, \
                              default: (x)))))

static inline void qemu_lockable_lock(QemuLockable *x)
{
    x->lock(x->object);
}

static inline void qemu_lockable_unlock(QemuLockable *x)
{
    x->unlock(x->object);
}

static inline QemuLockable *qemu_lockable_auto_lock(QemuLockable *x)
{
    qemu_lockable_lock(x);
    return x;
}

static inline void qemu_lockable_auto_unlock(QemuLockable *x)
{
    if (x) {
        qemu_lockable_unlock(x);
    }
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuLockable, qemu_lockable_auto_unlock)

#define WITH_QEMU_LOCK_GUARD_(x, var)                               \
    for (g_autoptr(QemuLockable) var =                              \
             qemu_lockable_auto_lock(QEMU_MAKE_LOCKABLE_NONNULL((x))); \
         var;                                                       \
         qemu_lockable_auto_unlock(var), var = NULL)

/* Holds the lock for the statement or block that follows. */
#define WITH_QEMU_LOCK_GUARD(x) \
    WITH_QEMU_LOCK_GUARD_((x), glue(qemu_lockable_auto, __COUNTER__))

/* Holds the lock until the end of the enclosing scope. */
#define QEMU_LOCK_GUARD(x)                                          \
    g_autoptr(QemuLockable)                                         \
    glue(qemu_lockable_auto, __COUNTER__) G_GNUC_UNUSED =           \
        qemu_lockable_auto_lock(QEMU_MAKE_LOCKABLE((x)))

#endif /* QEMU_LOCKABLE_H */
