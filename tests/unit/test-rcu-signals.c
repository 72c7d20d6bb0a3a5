/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Signals and real-time threads: a signal handler's read-side section at
 * every instruction of the read-side fast path, call_rcu1() from a signal
 * handler that interrupted call_rcu1(), a SCHED_FIFO producer sharing a
 * CPU with a preempted one, and faults raised inside RCU callbacks.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "test-subprocess.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>

/* --- a signal handler's section inside rcu_read_lock()/unlock() -------- */

/* Exit codes of the traced child. */
enum {
    PROBE_OK = 0,
    PROBE_HANDLER_UNPROTECTED = 1,
    PROBE_SECTION_UNPROTECTED = 2,
    PROBE_LEFT_INSIDE = 3,
};

static volatile sig_atomic_t handler_unprotected;

/* A section counts as protected while its thread's snapshot is non-zero. */
static bool rcu_protected(void)
{
    return qatomic_read(&get_ptr_rcu_reader()->ctr) != 0;
}

static void nested_section_handler(int sig)
{
    rcu_read_lock();
    if (!rcu_protected()) {
        handler_unprotected = 1;
    }
    rcu_read_unlock();
}

static void __attribute__((noinline)) probed_section(void)
{
    rcu_read_lock();
    if (!rcu_protected()) {
        _exit(PROBE_SECTION_UNPROTECTED);
    }
    barrier();
    if (!rcu_protected()) {
        _exit(PROBE_SECTION_UNPROTECTED);
    }
    rcu_read_unlock();
}

/*
 * The traced child: stops, runs one outermost section, stops again (the
 * tracer's end marker; kill() is resolved by then, so stepping does not
 * wander into the dynamic linker), and reports in its exit status.
 */
static G_NORETURN void probe_child(void)
{
    struct sigaction sa = { .sa_handler = nested_section_handler };

    alarm(10);
    sigaction(SIGUSR1, &sa, NULL);
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    kill(getpid(), SIGSTOP);
    probed_section();
    kill(getpid(), SIGSTOP);
    if (handler_unprotected) {
        _exit(PROBE_HANDLER_UNPROTECTED);
    }
    if (rcu_protected() || get_ptr_rcu_reader()->depth) {
        _exit(PROBE_LEFT_INSIDE);
    }
    _exit(PROBE_OK);
}

/* Resumes a stopped child with @sig and waits until it exits. */
static int probe_finish(pid_t pid, int sig)
{
    int status;

    for (;;) {
        g_assert_cmpint(ptrace(PTRACE_CONT, pid, NULL,
                               GINT_TO_POINTER(sig)), ==, 0);
        status = wait_status(pid);
        if (!WIFSTOPPED(status)) {
            return status;
        }
        /* The end marker: suppress it. */
        g_assert_cmpint(WSTOPSIG(status), ==, SIGSTOP);
        sig = 0;
    }
}

/*
 * Single-steps a new child @steps instructions past its first stop, then
 * lets it run with SIGUSR1 delivered at that instruction.  Returns its
 * wait status, or -1 if it reached its end marker within @steps, which
 * tells the caller that every instruction has been covered.
 */
static int probe_at(long steps)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        probe_child();
    }
    status = wait_status(pid);
    g_assert_true(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    for (long i = 0; i < steps; i++) {
        g_assert_cmpint(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), ==, 0);
        status = wait_status(pid);
        g_assert_true(WIFSTOPPED(status));
        if (WSTOPSIG(status) == SIGSTOP) {
            probe_finish(pid, 0);
            return -1;
        }
        g_assert_cmpint(WSTOPSIG(status), ==, SIGTRAP);
    }
    /* A single-step stop is a signal-delivery stop: deliver SIGUSR1. */
    return probe_finish(pid, SIGUSR1);
}

/*
 * A handler that runs its own section at any instruction of an outermost
 * rcu_read_lock() ... rcu_read_unlock() (the code the compiler actually
 * generated, reorderings included) is protected, leaves the interrupted
 * section protected, and does not leave the thread looking inside.
 */
static void test_handler_section_at_every_instruction(void)
{
    long steps;

    for (steps = 0;; steps++) {
        int status = probe_at(steps);

        if (status == -1) {
            break;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != PROBE_OK) {
            g_test_message("signal after %ld instructions: %s %d", steps,
                           WIFEXITED(status) ? "exit" : "signal",
                           WIFEXITED(status) ? WEXITSTATUS(status) :
                           WTERMSIG(status));
            g_test_fail();
        }
    }
    g_test_message("covered %ld instruction boundaries", steps);
    /* The section is a few dozen instructions. */
    g_assert_cmpint(steps, >, 20);
}

/* --- call_rcu1() from a signal handler --------------------------------- */

#define HANDLER_HEADS 100000

static struct rcu_head handler_heads[HANDLER_HEADS];
static int handler_queued;
static long callbacks_ran;

static void count_cb(struct rcu_head *head)
{
    qatomic_inc(&callbacks_ran);
}

static void count_free_cb(struct rcu_head *head)
{
    qatomic_inc(&callbacks_ran);
    g_free(head);
}

static void enqueue_handler(int sig)
{
    if (handler_queued < HANDLER_HEADS) {
        call_rcu1(&handler_heads[handler_queued++], count_cb);
    }
}

/*
 * A timer interrupts this thread every 50 us while it queues callbacks
 * back to back, and the handler queues one too, often in the middle of
 * the interrupted call_rcu1(): both must complete, every callback must
 * run once, and both must be counted (the interrupted call may be
 * between loading and storing this thread's producer slot).
 */
static void test_call_rcu_from_signal_handler(void)
{
    if (g_test_subprocess()) {
        struct sigaction sa = { .sa_handler = enqueue_handler };
        struct sigevent sev = {
            .sigev_notify = SIGEV_THREAD_ID,
            .sigev_signo = SIGPROF,
        };
        struct itimerspec its = {
            .it_value.tv_nsec = 50000, .it_interval.tv_nsec = 50000,
        };
        int64_t end = test_now_ns() + 500 * 1000000LL;
        RcuStats before = test_rcu_stats(), after;
        long queued = 0;
        timer_t timer;

        sigaction(SIGPROF, &sa, NULL);
        sev._sigev_un._tid = syscall(SYS_gettid);
        g_assert_cmpint(timer_create(CLOCK_MONOTONIC, &sev, &timer), ==, 0);
        g_assert_cmpint(timer_settime(timer, 0, &its, NULL), ==, 0);
        while (test_now_ns() < end) {
            for (int i = 0; i < 1000; i++) {
                call_rcu1(g_new0(struct rcu_head, 1), count_free_cb);
            }
            queued += 1000;
        }
        timer_delete(timer);
        drain_call_rcu();
        g_test_message("%ld callbacks queued, %d of them from the handler",
                       queued + handler_queued, handler_queued);
        g_assert_cmpint(handler_queued, >, 0);
        g_assert_cmpint(qatomic_read(&callbacks_ran), ==,
                        queued + handler_queued);
        after = test_rcu_stats();
        g_assert_cmpuint(after.callbacks_queued - before.callbacks_queued, ==,
                         queued + handler_queued);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- a real-time producer and a preempted one on one CPU --------------- */

#define RT_ROUNDS 3000
#define RT_CALLS_PER_ROUND 100

typedef struct Producer {
    QemuThread thread;
    bool realtime;
    bool started;
    long calls;
} Producer;

static bool rt_stop;
static int outstanding;

static void outstanding_cb(struct rcu_head *head)
{
    qatomic_dec(&outstanding);
    count_free_cb(head);
}

static void produce(Producer *p)
{
    qatomic_inc(&outstanding);
    call_rcu1(g_new0(struct rcu_head, 1), outstanding_cb);
    p->calls++;
}

static void pin_to_cpu0(void)
{
    cpu_set_t cpu0;

    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    g_assert_cmpint(pthread_setaffinity_np(pthread_self(), sizeof(cpu0),
                                           &cpu0), ==, 0);
}

/*
 * The real-time producer wakes up RT_ROUNDS times, preempting the other
 * producer wherever it is (often inside call_rcu1()), and queues a few
 * callbacks; the other one queues callbacks back to back, at most a few
 * thousand at a time.
 */
static void *producer_fn(void *opaque)
{
    Producer *p = opaque;

    pin_to_cpu0();
    if (p->realtime) {
        struct sched_param param = { .sched_priority = 1 };

        g_assert_cmpint(pthread_setschedparam(pthread_self(), SCHED_FIFO,
                                              &param), ==, 0);
        for (int i = 0; i < RT_ROUNDS; i++) {
            g_usleep(100);
            for (int j = 0; j < RT_CALLS_PER_ROUND; j++) {
                produce(p);
            }
        }
        return NULL;
    }
    qatomic_set(&p->started, true);
    while (!qatomic_read(&rt_stop)) {
        if (qatomic_read(&outstanding) < 4000) {
            produce(p);
        }
    }
    return NULL;
}

static void *try_fifo_fn(void *opaque)
{
    struct sched_param param = { .sched_priority = 1 };

    return GINT_TO_POINTER(pthread_setschedparam(pthread_self(), SCHED_FIFO,
                                                 &param));
}

/*
 * A SCHED_FIFO thread that queues callbacks shares CPU 0 with a
 * SCHED_OTHER one that it preempts at arbitrary points.  Enqueueing never
 * waits for another producer, so the real-time thread finishes quickly;
 * had it spun on a lock held by the preempted thread, that thread would
 * run again only in the scheduler's real-time throttling gaps (50 ms a
 * second by default), or never.
 */
static void test_realtime_producer(void)
{
    QemuThread probe;

    qemu_thread_create(&probe, "try-fifo", try_fifo_fn, NULL,
                       QEMU_THREAD_JOINABLE);
    if (qemu_thread_join(&probe)) {
        g_test_skip("sched_setscheduler(SCHED_FIFO) is not permitted here");
        return;
    }
    if (g_test_subprocess()) {
        Producer other = { .realtime = false };
        Producer rt = { .realtime = true };
        int64_t start, elapsed;

        qemu_thread_create(&other.thread, "producer", producer_fn, &other,
                           QEMU_THREAD_JOINABLE);
        while (!qatomic_read(&other.started)) {
            g_usleep(1000);
        }
        start = test_now_ns();
        qemu_thread_create(&rt.thread, "rt-producer", producer_fn, &rt,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&rt.thread);
        elapsed = test_now_ns() - start;
        qatomic_set(&rt_stop, true);
        qemu_thread_join(&other.thread);
        drain_call_rcu();
        g_test_message("%d wake-ups at SCHED_FIFO in %.1f ms", RT_ROUNDS,
                       elapsed / 1e6);
        /* ~0.4 s expected here: 25 times that is a livelock. */
        g_assert_cmpint(elapsed, <, 10 * 1000000000LL);
        g_assert_cmpint(qatomic_read(&callbacks_ran), ==,
                        other.calls + rt.calls);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- faults inside callbacks ------------------------------------------- */

typedef enum Fault {
    FAULT_SEGV,
    FAULT_BUS,
    FAULT_FPE,
    FAULT_ILL,
} Fault;

static const int fault_signal[] = {
    [FAULT_SEGV] = SIGSEGV,
    [FAULT_BUS] = SIGBUS,
    [FAULT_FPE] = SIGFPE,
    [FAULT_ILL] = SIGILL,
};

#define FAULT_HANDLED 42

static Fault fault;
/* NULL, through a variable the compiler cannot see through. */
static int *volatile unmapped_address;

static void fault_handler(int sig)
{
    _exit(FAULT_HANDLED);
}

/* The faults are the point: UBSan must not report them and exit first. */
__attribute__((no_sanitize("undefined")))
static void faulting_cb(struct rcu_head *head)
{
    switch (fault) {
    case FAULT_SEGV:
        *unmapped_address = 1;
        break;
    case FAULT_BUS: {
        /* A mapping past the end of an empty file. */
        FILE *f = tmpfile();
        volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED,
                                fileno(f), 0);

        (void)*p;
        break;
    }
    case FAULT_FPE: {
        volatile int num = 42, zero = 0;
        volatile int x = num / zero;

        (void)x;
        break;
    }
    case FAULT_ILL:
        __builtin_trap();
        break;
    }
}

/*
 * A fault inside a callback reaches the application's handler: the
 * call_rcu thread leaves the synchronous signals unblocked, as QEMU's
 * threads do.  Blocked, the kernel would kill the process instead.
 */
static void test_fault_in_callback(gconstpointer data)
{
    static struct rcu_head head;
    int status;
    pid_t pid;

    fault = GPOINTER_TO_INT(data);
    pid = fork();
    if (pid == 0) {
        struct sigaction sa = { .sa_handler = fault_handler };

        alarm(10);
        sigaction(fault_signal[fault], &sa, NULL);
        call_rcu1(&head, faulting_cb);
        drain_call_rcu();
        _exit(0);
    }
    status = wait_status(pid);
    if (WIFSIGNALED(status)) {
        g_test_message("killed by signal %d", WTERMSIG(status));
    }
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, FAULT_HANDLED);
}

int main(int argc, char **argv)
{
    static const char *const faults[] = {
        [FAULT_SEGV] = "segv", [FAULT_BUS] = "bus",
        [FAULT_FPE] = "fpe", [FAULT_ILL] = "ill",
    };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rcu/signals/handler-section-at-every-instruction",
                    test_handler_section_at_every_instruction);
    g_test_add_func("/rcu/signals/call-rcu-from-handler",
                    test_call_rcu_from_signal_handler);
    g_test_add_func("/rcu/signals/realtime-producer", test_realtime_producer);
    for (int i = 0; i < G_N_ELEMENTS(faults); i++) {
        g_autofree char *path =
            g_strdup_printf("/rcu/signals/fault-in-callback/%s", faults[i]);

#if !defined(__i386__) && !defined(__x86_64__)
        /* Division by zero and __builtin_trap() raise these on x86 only. */
        if (i == FAULT_FPE || i == FAULT_ILL) {
            continue;
        }
#endif
        g_test_add_data_func(path, GINT_TO_POINTER(i),
                             test_fault_in_callback);
    }
    return g_test_run();
}
