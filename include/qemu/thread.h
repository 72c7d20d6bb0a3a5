/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * QEMU-compatible threads and synchronisation primitives on POSIX.
 *
 * QemuEvent is a futex-backed binary event with QEMU's semantics:
 * qemu_event_set() wakes every waiter and leaves the event set until
 * qemu_event_reset(); setting an already set event costs one fence and
 * one load, and only wakes the kernel when somebody sleeps on it.
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "qemu/processor.h"
#include "qemu/atomic.h"

typedef struct QemuMutex QemuMutex;
typedef struct QemuCond QemuCond;
typedef struct QemuSemaphore QemuSemaphore;
typedef struct QemuEvent QemuEvent;
typedef struct QemuThread QemuThread;

struct QemuMutex {
    pthread_mutex_t lock;
    bool initialized;
};

/* A distinct type so that QEMU_LOCK_GUARD() can tell the two apart. */
typedef struct QemuRecMutex {
    QemuMutex m;
} QemuRecMutex;

struct QemuCond {
    pthread_cond_t cond;
    bool initialized;
};

struct QemuSemaphore {
    QemuMutex mutex;
    QemuCond cond;
    unsigned int count;
};

struct QemuEvent {
    unsigned value;
    bool initialized;
};

struct QemuThread {
    pthread_t thread;
};

#define QEMU_THREAD_JOINABLE 0
#define QEMU_THREAD_DETACHED 1

void qemu_mutex_init(QemuMutex *mutex);
void qemu_mutex_destroy(QemuMutex *mutex);
int qemu_mutex_trylock_impl(QemuMutex *mutex, const char *file,
                            const int line);
void qemu_mutex_lock_impl(QemuMutex *mutex, const char *file, const int line);
void qemu_mutex_unlock_impl(QemuMutex *mutex, const char *file,
                            const int line);

void qemu_rec_mutex_init(QemuRecMutex *mutex);
void qemu_rec_mutex_destroy(QemuRecMutex *mutex);
void qemu_rec_mutex_lock_impl(QemuRecMutex *mutex, const char *file, int line);
int qemu_rec_mutex_trylock_impl(QemuRecMutex *mutex, const char *file,
                                int line);
void qemu_rec_mutex_unlock_impl(QemuRecMutex *mutex, const char *file,
                                int line);

#define qemu_mutex_lock(m)      qemu_mutex_lock_impl(m, __FILE__, __LINE__)
#define qemu_mutex_trylock(m)   qemu_mutex_trylock_impl(m, __FILE__, __LINE__)
#define qemu_mutex_unlock(m)    qemu_mutex_unlock_impl(m, __FILE__, __LINE__)
#define qemu_rec_mutex_lock(m)  qemu_rec_mutex_lock_impl(m, __FILE__, __LINE__)
#define qemu_rec_mutex_trylock(m) \
    qemu_rec_mutex_trylock_impl(m, __FILE__, __LINE__)
#define qemu_rec_mutex_unlock(m) \
    qemu_rec_mutex_unlock_impl(m, __FILE__, __LINE__)

void qemu_cond_init(QemuCond *cond);
void qemu_cond_destroy(QemuCond *cond);
void qemu_cond_signal(QemuCond *cond);
void qemu_cond_broadcast(QemuCond *cond);
void qemu_cond_wait_impl(QemuCond *cond, QemuMutex *mutex,
                         const char *file, const int line);
/* Returns false on timeout. */
bool qemu_cond_timedwait_impl(QemuCond *cond, QemuMutex *mutex, int ms,
                              const char *file, const int line);

#define qemu_cond_wait(c, m) qemu_cond_wait_impl(c, m, __FILE__, __LINE__)
#define qemu_cond_timedwait(c, m, ms) \
    qemu_cond_timedwait_impl(c, m, ms, __FILE__, __LINE__)

void qemu_sem_init(QemuSemaphore *sem, int init);
void qemu_sem_post(QemuSemaphore *sem);
void qemu_sem_wait(QemuSemaphore *sem);
/* Returns 0 on success, -1 on timeout. */
int qemu_sem_timedwait(QemuSemaphore *sem, int ms);
void qemu_sem_destroy(QemuSemaphore *sem);

void qemu_event_init(QemuEvent *ev, bool init);
void qemu_event_set(QemuEvent *ev);
void qemu_event_reset(QemuEvent *ev);
void qemu_event_wait(QemuEvent *ev);
/*
 * Waits at most @ms milliseconds; returns true if the event was set.
 * An extension of this library (QEMU 10.0 has no such call).
 */
bool qemu_event_timedwait(QemuEvent *ev, int ms);
bool qemu_event_timedwait_ns(QemuEvent *ev, int64_t ns);
void qemu_event_destroy(QemuEvent *ev);

void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *),
                        void *arg, int mode);
void *qemu_thread_join(QemuThread *thread);
void qemu_thread_get_self(QemuThread *thread);
bool qemu_thread_is_self(QemuThread *thread);
G_NORETURN void qemu_thread_exit(void *retval);
void qemu_thread_naming(bool enable);

struct Notifier;
void qemu_thread_atexit_add(struct Notifier *notifier);
void qemu_thread_atexit_remove(struct Notifier *notifier);

typedef struct QemuSpin {
    int value;
} QemuSpin;

static inline void qemu_spin_init(QemuSpin *spin)
{
    qatomic_set(&spin->value, 0);
}

static inline void qemu_spin_destroy(QemuSpin *spin)
{
    (void)spin;
}

static inline bool qemu_spin_trylock(QemuSpin *spin)
{
    return __atomic_exchange_n(&spin->value, 1, __ATOMIC_ACQUIRE) != 0;
}

static inline void qemu_spin_lock(QemuSpin *spin)
{
    while (unlikely(qemu_spin_trylock(spin))) {
        while (qatomic_read(&spin->value)) {
            cpu_relax();
        }
    }
}

static inline bool qemu_spin_locked(QemuSpin *spin)
{
    return qatomic_read(&spin->value);
}

static inline void qemu_spin_unlock(QemuSpin *spin)
{
    __atomic_store_n(&spin->value, 0, __ATOMIC_RELEASE);
}

#endif /* QEMU_THREAD_H */
