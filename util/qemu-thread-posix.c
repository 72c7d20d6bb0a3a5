/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Mutexes, condition variables, semaphores, events and threads on POSIX.
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/notify.h"

#include <signal.h>
#include <sys/syscall.h>
#ifdef __linux__
#include <linux/futex.h>
#endif

static bool name_threads;

QEMU_NORETURN static void thread_fatal(int err, const char *what)
{
    fprintf(stderr, "qemu-rcu: %s: %s\n", what, strerror(err));
    abort();
}

static void check(int err, const char *what)
{
    if (unlikely(err)) {
        thread_fatal(err, what);
    }
}

void qemu_mutex_init(QemuMutex *mutex)
{
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    check(pthread_mutex_init(&mutex->lock, &attr), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    mutex->initialized = true;
}

void qemu_mutex_destroy(QemuMutex *mutex)
{
    assert(mutex->initialized);
    mutex->initialized = false;
    check(pthread_mutex_destroy(&mutex->lock), "pthread_mutex_destroy");
}

void qemu_mutex_lock_impl(QemuMutex *mutex, const char *file, const int line)
{
    int err;

    assert(mutex->initialized);
    err = pthread_mutex_lock(&mutex->lock);
    if (unlikely(err)) {
        fprintf(stderr, "qemu-rcu: %s:%d: ", file, line);
        thread_fatal(err, "pthread_mutex_lock");
    }
}

int qemu_mutex_trylock_impl(QemuMutex *mutex, const char *file,
                            const int line)
{
    int err;

    assert(mutex->initialized);
    err = pthread_mutex_trylock(&mutex->lock);
    if (err == 0) {
        return 0;
    }
    if (err != EBUSY) {
        fprintf(stderr, "qemu-rcu: %s:%d: ", file, line);
        thread_fatal(err, "pthread_mutex_trylock");
    }
    return -EBUSY;
}

void qemu_mutex_unlock_impl(QemuMutex *mutex, const char *file,
                            const int line)
{
    int err;

    assert(mutex->initialized);
    err = pthread_mutex_unlock(&mutex->lock);
    if (unlikely(err)) {
        fprintf(stderr, "qemu-rcu: %s:%d: ", file, line);
        thread_fatal(err, "pthread_mutex_unlock");
    }
}

void qemu_rec_mutex_init(QemuRecMutex *mutex)
{
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    check(pthread_mutex_init(&mutex->m.lock, &attr), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    mutex->m.initialized = true;
}

void qemu_rec_mutex_destroy(QemuRecMutex *mutex)
{
    qemu_mutex_destroy(&mutex->m);
}

void qemu_rec_mutex_lock_impl(QemuRecMutex *mutex, const char *file, int line)
{
    qemu_mutex_lock_impl(&mutex->m, file, line);
}

int qemu_rec_mutex_trylock_impl(QemuRecMutex *mutex, const char *file,
                                int line)
{
    return qemu_mutex_trylock_impl(&mutex->m, file, line);
}

void qemu_rec_mutex_unlock_impl(QemuRecMutex *mutex, const char *file,
                                int line)
{
    qemu_mutex_unlock_impl(&mutex->m, file, line);
}

void qemu_cond_init(QemuCond *cond)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    check(pthread_cond_init(&cond->cond, &attr), "pthread_cond_init");
    pthread_condattr_destroy(&attr);
    cond->initialized = true;
}

void qemu_cond_destroy(QemuCond *cond)
{
    assert(cond->initialized);
    cond->initialized = false;
    check(pthread_cond_destroy(&cond->cond), "pthread_cond_destroy");
}

void qemu_cond_signal(QemuCond *cond)
{
    assert(cond->initialized);
    check(pthread_cond_signal(&cond->cond), "pthread_cond_signal");
}

void qemu_cond_broadcast(QemuCond *cond)
{
    assert(cond->initialized);
    check(pthread_cond_broadcast(&cond->cond), "pthread_cond_broadcast");
}

void qemu_cond_wait_impl(QemuCond *cond, QemuMutex *mutex,
                         const char *file, const int line)
{
    assert(cond->initialized);
    check(pthread_cond_wait(&cond->cond, &mutex->lock), "pthread_cond_wait");
}

static void deadline_after_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Returns false once the absolute CLOCK_MONOTONIC deadline has passed. */
static bool cond_wait_until(QemuCond *cond, QemuMutex *mutex,
                            const struct timespec *deadline)
{
    int err;

    assert(cond->initialized);
    err = pthread_cond_timedwait(&cond->cond, &mutex->lock, deadline);
    if (err && err != ETIMEDOUT) {
        thread_fatal(err, "pthread_cond_timedwait");
    }
    return err != ETIMEDOUT;
}

bool qemu_cond_timedwait_impl(QemuCond *cond, QemuMutex *mutex, int ms,
                              const char *file, const int line)
{
    struct timespec ts;

    deadline_after_ms(&ts, ms);
    return cond_wait_until(cond, mutex, &ts);
}

void qemu_sem_init(QemuSemaphore *sem, int init)
{
    assert(init >= 0);
    qemu_mutex_init(&sem->mutex);
    qemu_cond_init(&sem->cond);
    sem->count = init;
}

void qemu_sem_destroy(QemuSemaphore *sem)
{
    qemu_cond_destroy(&sem->cond);
    qemu_mutex_destroy(&sem->mutex);
}

void qemu_sem_post(QemuSemaphore *sem)
{
    qemu_mutex_lock(&sem->mutex);
    if (sem->count == INT_MAX) {
        fprintf(stderr, "qemu-rcu: semaphore overflow\n");
        abort();
    }
    sem->count++;
    qemu_cond_signal(&sem->cond);
    qemu_mutex_unlock(&sem->mutex);
}

int qemu_sem_timedwait(QemuSemaphore *sem, int ms)
{
    struct timespec deadline;
    bool ok = true;

    /* One deadline for the whole wait, however often we wake early. */
    deadline_after_ms(&deadline, ms);
    qemu_mutex_lock(&sem->mutex);
    while (sem->count == 0 && ok) {
        ok = cond_wait_until(&sem->cond, &sem->mutex, &deadline);
    }
    if (sem->count > 0) {
        sem->count--;
        ok = true;
    }
    qemu_mutex_unlock(&sem->mutex);
    return ok ? 0 : -1;
}

void qemu_sem_wait(QemuSemaphore *sem)
{
    qemu_mutex_lock(&sem->mutex);
    while (sem->count == 0) {
        qemu_cond_wait(&sem->cond, &sem->mutex);
    }
    sem->count--;
    qemu_mutex_unlock(&sem->mutex);
}

/*
 * QemuEvent states.  UNSET_WAITERS means "not set, and somebody may be
 * sleeping in the kernel", so only a set that replaces it needs a wake.
 */
enum {
    EV_UNSET = 0,
    EV_SET = 1,
    EV_UNSET_WAITERS = 2,
};

static void futex_wake_all(unsigned *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleeps while *addr == val; returns false on timeout. */
static bool futex_wait(unsigned *addr, unsigned val, const struct timespec *rel)
{
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);

    return !(r < 0 && errno == ETIMEDOUT);
}

void qemu_event_init(QemuEvent *ev, bool init)
{
    ev->value = init ? EV_SET : EV_UNSET;
    ev->initialized = true;
}

void qemu_event_destroy(QemuEvent *ev)
{
    assert(ev->initialized);
    ev->initialized = false;
}

void qemu_event_set(QemuEvent *ev)
{
    assert(ev->initialized);

    /*
     * Order the caller's earlier stores before the load of ev->value;
     * pairs with the barrier at the end of qemu_event_reset() (a waiter
     * that reset the event then checks its condition sees our stores,
     * or we see its reset and set the event again).
     */
    smp_mb();
    if (qatomic_read(&ev->value) != EV_SET) {
        /* Release: the waiter's acquire in qemu_event_wait() pairs. */
        if (__atomic_exchange_n(&ev->value, EV_SET, __ATOMIC_RELEASE)
            == EV_UNSET_WAITERS) {
            futex_wake_all(&ev->value);
        }
    }
}

void qemu_event_reset(QemuEvent *ev)
{
    assert(ev->initialized);

    /* Only SET moves to UNSET; UNSET_WAITERS must keep its waiters. */
    qatomic_cmpxchg(&ev->value, EV_SET, EV_UNSET);

    /*
     * Order the reset before the caller's later loads of its condition;
     * pairs with the smp_mb() in qemu_event_set().
     */
    smp_mb__after_rmw();
}

static bool event_wait(QemuEvent *ev, const struct timespec *deadline)
{
    assert(ev->initialized);

    for (;;) {
        /* Acquire pairs with the release exchange in qemu_event_set(). */
        unsigned value = __atomic_load_n(&ev->value, __ATOMIC_ACQUIRE);
        struct timespec now, rel;

        if (value == EV_SET) {
            return true;
        }
        if (value == EV_UNSET &&
            qatomic_cmpxchg(&ev->value, EV_UNSET, EV_UNSET_WAITERS)
            != EV_UNSET) {
            continue;
        }
        if (!deadline) {
            futex_wait(&ev->value, EV_UNSET_WAITERS, NULL);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        rel.tv_sec = deadline->tv_sec - now.tv_sec;
        rel.tv_nsec = deadline->tv_nsec - now.tv_nsec;
        if (rel.tv_nsec < 0) {
            rel.tv_nsec += 1000000000L;
            rel.tv_sec--;
        }
        if (rel.tv_sec < 0) {
            return __atomic_load_n(&ev->value, __ATOMIC_ACQUIRE) == EV_SET;
        }
        futex_wait(&ev->value, EV_UNSET_WAITERS, &rel);
    }
}

void qemu_event_wait(QemuEvent *ev)
{
    event_wait(ev, NULL);
}

bool qemu_event_timedwait_ns(QemuEvent *ev, int64_t ns)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ns / 1000000000;
    deadline.tv_nsec += ns % 1000000000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return event_wait(ev, &deadline);
}

bool qemu_event_timedwait(QemuEvent *ev, int ms)
{
    return qemu_event_timedwait_ns(ev, (int64_t)ms * 1000000);
}

/* Per-thread exit notifiers, run from a pthread key destructor. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/*
 * Per thread, so that registering an exit notifier (every
 * rcu_register_thread() does) allocates nothing: a thread's first
 * malloc() costs it glibc's per-thread cache, about 700 bytes.  Thread
 * storage outlives the key destructors that run the list.
 */
static __thread NotifierList exit_notifiers;

static void run_exit_notifiers(void *opaque)
{
    NotifierList *list = opaque;

    notifier_list_notify(list, NULL);
}

static void exit_key_init(void)
{
    check(pthread_key_create(&exit_key, run_exit_notifiers),
          "pthread_key_create");
}

void qemu_thread_atexit_add(Notifier *notifier)
{
    pthread_once(&exit_key_once, exit_key_init);
    if (!pthread_getspecific(exit_key)) {
        notifier_list_init(&exit_notifiers);
        /* Any non-NULL value makes the destructor run at thread exit. */
        pthread_setspecific(exit_key, &exit_notifiers);
    }
    notifier_list_add(&exit_notifiers, notifier);
}

void qemu_thread_atexit_remove(Notifier *notifier)
{
    notifier_remove(notifier);
}

void qemu_thread_naming(bool enable)
{
    name_threads = enable;
}

typedef struct ThreadStart {
    void *(*start_routine)(void *);
    void *arg;
    char *name;
} ThreadStart;

static void *thread_trampoline(void *opaque)
{
    ThreadStart *start = opaque;
    void *(*start_routine)(void *) = start->start_routine;
    void *arg = start->arg;

    if (start->name) {
        char shortname[16];

        /* The kernel keeps 15 characters and a NUL. */
        g_strlcpy(shortname, start->name, sizeof(shortname));
        pthread_setname_np(pthread_self(), shortname);
    }
    g_free(start->name);
    g_free(start);
    return start_routine(arg);
}

void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *),
                        void *arg, int mode)
{
    sigset_t all, old;
    pthread_attr_t attr;
    ThreadStart *start = g_new0(ThreadStart, 1);
    int err;

    start->start_routine = start_routine;
    start->arg = arg;
    start->name = name_threads && name ? g_strdup(name) : NULL;

    pthread_attr_init(&attr);
    if (mode == QEMU_THREAD_DETACHED) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    }

    /*
     * New threads start with the asynchronous signals blocked, as in
     * QEMU.  Faults stay deliverable: blocking SIGSEGV, SIGBUS, SIGFPE,
     * SIGILL or SIGTRAP only makes the kernel kill the process on a fault
     * (in an RCU callback, say) without running the application's handler.
     */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&thread->thread, &attr, thread_trampoline, start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    check(err, "pthread_create");
}

void *qemu_thread_join(QemuThread *thread)
{
    void *ret;

    check(pthread_join(thread->thread, &ret), "pthread_join");
    return ret;
}

void qemu_thread_get_self(QemuThread *thread)
{
    thread->thread = pthread_self();
}

bool qemu_thread_is_self(QemuThread *thread)
{
    return pthread_equal(pthread_self(), thread->thread);
}

void qemu_thread_exit(void *retval)
{
    pthread_exit(retval);
}

static void __attribute__((constructor)) qemu_thread_init(void)
{
    /* Named threads help the stall warning name the culprit. */
    name_threads = true;
}
