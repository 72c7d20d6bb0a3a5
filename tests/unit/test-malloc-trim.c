/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The call_rcu thread's malloc_trim() policy (docs/malloc-trim.md): a
 * burst of g_free_rcu() frees goes back to the OS once the thread is
 * idle, a trickle of callbacks is trimmed at most once per
 * trim_min_interval_ms and not at all while it keeps the thread busier
 * than trim_idle_us, and a -Dmalloc_trim=disabled build never trims.
 *
 * QEMU_TRIM_TEST_BURST_MIB (default 64) sizes the burst and
 * QEMU_TRIM_TEST_TRICKLE_MS (default 2000) the rate-limit trickle.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-util.h"

/* Small enough to come from the main arena's heap, never from mmap(). */
#define OBJ_SIZE          256
/* One callback every 5 ms, the trickle users see on busy hosts. */
#define TRICKLE_PERIOD_US 5000
/* Upper bound for anything that should take milliseconds. */
#define GENEROUS_US       (10 * G_USEC_PER_SEC)
/* trim_idle_us that keeps the call_rcu thread from trimming meanwhile. */
#define HOLD_IDLE_US      (3600u * 1000000u)

typedef struct BurstObj {
    struct rcu_head rcu;
    struct BurstObj *next;
    char payload[OBJ_SIZE - sizeof(struct rcu_head) - sizeof(void *)];
} BurstObj;

typedef struct TrickleObj {
    struct rcu_head rcu;
    char payload[64];
} TrickleObj;

static unsigned env_unsigned(const char *name, unsigned def)
{
    const char *s = g_getenv(name);

    return s && *s ? (unsigned)g_ascii_strtoull(s, NULL, 10) : def;
}

static long rss_bytes(void)
{
    long rss = test_rss_bytes();

    g_assert_cmpint(rss, >, 0);
    return rss;
}

/*
 * Sets the trim tunables and makes sure the call_rcu thread uses them:
 * a wait that started earlier may still run with the old ones, but the
 * drain wakes it, and every wait after the drain's batch reads the new
 * values.
 */
static void set_trim_tunables(unsigned idle_us, unsigned interval_ms)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    t.trim_idle_us = idle_us;
    t.trim_min_interval_ms = interval_ms;
    rcu_set_tunables(&t);
    drain_call_rcu();
}

static void queue_trickle_object(void)
{
    TrickleObj *obj = g_new0(TrickleObj, 1);

    g_free_rcu(obj, rcu);
}

/*
 * The burst is allocated by this (the main) thread, so it lives in the
 * main arena's heap; the pin allocated after it keeps the heap top in
 * use, so free() alone can never shrink the heap and only malloc_trim()
 * can give the burst's pages back.
 */
static void test_burst(void)
{
    size_t nominal = (size_t)env_unsigned("QEMU_TRIM_TEST_BURST_MIB", 64)
                     << 20;
    size_t count = nominal / sizeof(BurstObj);
    BurstObj *head = NULL;
    uintptr_t highest = 0;
    uint64_t trims;
    long base, peak, held, burst;
    void *pin;

#ifdef QEMU_SANITIZE_ADDRESS
    /* ASan's allocator ignores malloc_trim(); nothing to measure. */
    g_test_skip("AddressSanitizer replaces the glibc heap");
    return;
#endif

    set_trim_tunables(HOLD_IDLE_US, 0);
    trims = test_rcu_stats().malloc_trims;
    base = rss_bytes();

    for (size_t i = 0; i < count; i++) {
        BurstObj *obj = g_new(BurstObj, 1);

        memset(obj->payload, 0x5a, sizeof(obj->payload));
        obj->next = head;
        head = obj;
        highest = MAX(highest, (uintptr_t)obj);
    }
    pin = g_malloc(OBJ_SIZE);
    peak = rss_bytes();
    burst = peak - base;
    g_test_message("burst: %zu objects, rss %ld -> %ld KiB", count,
                   base >> 10, peak >> 10);
    g_assert_cmpuint((uintptr_t)pin, >, highest);
    g_assert_cmpint(burst, >=, (long)(nominal / 10 * 9));

    while (head) {
        BurstObj *next = head->next;

        g_free_rcu(head, rcu);
        head = next;
    }
    drain_call_rcu();

    /* Every object is freed; with trims held off the heap stays put. */
    g_usleep(100 * 1000);
    held = rss_bytes();
    g_test_message("freed, trims held: rss %ld KiB", held >> 10);
    g_assert_cmpint(held, >=, peak - burst / 4);
    g_assert_cmpuint(test_rcu_stats().malloc_trims, ==, trims);

    /* The drain in here wakes the thread from its held wait. */
    set_trim_tunables(20000, 200);

#ifdef CONFIG_MALLOC_TRIM
    {
        int64_t start = g_get_monotonic_time();
        long now;

        /*
         * The count goes up once malloc_trim() has returned; RSS falls
         * while it runs, so only then is the drop complete.
         */
        while (test_rcu_stats().malloc_trims == trims &&
               g_get_monotonic_time() - start < GENEROUS_US) {
            g_usleep(10 * 1000);
        }
        now = rss_bytes();
        g_test_message("after %" PRId64 " ms idle: rss %ld KiB, %" PRIu64
                       " trim(s)", (g_get_monotonic_time() - start) / 1000,
                       now >> 10, test_rcu_stats().malloc_trims - trims);
        g_assert_cmpuint(test_rcu_stats().malloc_trims, >, trims);
        g_assert_cmpint(peak - now, >=, burst / 4 * 3);
    }
#else
    /* Many times the idle time plus the interval: no trim, ever. */
    g_usleep(300 * 1000);
    drain_call_rcu();
    g_usleep(300 * 1000);
    g_assert_cmpuint(test_rcu_stats().malloc_trims, ==, 0);
    g_assert_cmpint(rss_bytes(), >=, peak - burst / 4);
#endif
    g_free(pin);
}

/*
 * Queues a callback every TRICKLE_PERIOD_US; returns trims and window.
 * A loaded machine may hold the producer back; *late counts the gaps
 * between two callbacks longer than @late_us, in which the call_rcu
 * thread was rightly idle.
 */
static uint64_t trickle(unsigned ms, int64_t *window_us, uint64_t *run,
                        int64_t late_us, unsigned *late)
{
    int64_t start = g_get_monotonic_time();
    int64_t end = start + (int64_t)ms * 1000;
    int64_t last = start;
    uint64_t trims = test_rcu_stats().malloc_trims;
    uint64_t cbs = test_rcu_stats().callbacks_run;

    *late = 0;
    while (g_get_monotonic_time() < end) {
        int64_t now = g_get_monotonic_time();

        *late += now - last > late_us;
        last = now;
        queue_trickle_object();
        g_usleep(TRICKLE_PERIOD_US);
    }
    trims = test_rcu_stats().malloc_trims - trims;
    *window_us = g_get_monotonic_time() - start;
    *run = test_rcu_stats().callbacks_run - cbs;
    return trims;
}

/*
 * trim_idle_us = 0 makes every idle transition a trim candidate, as in
 * QEMU 10.0; only trim_min_interval_ms stands between the trickle and
 * hundreds of trims.  Successive trims are at least the interval apart,
 * so a window of W ms sees at most W / interval + 1 of them.
 */
static void test_trickle_rate_limit(void)
{
    const unsigned interval_ms = 200;
    unsigned ms = env_unsigned("QEMU_TRIM_TEST_TRICKLE_MS", 2000);
    int64_t window_us;
    uint64_t run, trims, limit;
    unsigned late;

    set_trim_tunables(0, interval_ms);
    trims = trickle(ms, &window_us, &run, INT64_MAX, &late);
    limit = window_us / 1000 / interval_ms + 1;
    g_test_message("%" PRIu64 " callbacks in %" PRId64 " ms: %" PRIu64
                   " trim(s), limit %" PRIu64, run, window_us / 1000, trims,
                   limit);
    /* More idle transitions than the limit, or the test proves nothing. */
    g_assert_cmpuint(run, >, limit);
#ifdef CONFIG_MALLOC_TRIM
    g_assert_cmpuint(trims, <=, limit);
    g_assert_cmpuint(trims, >=, 1);
#else
    g_assert_cmpuint(trims, ==, 0);
#endif
}

/*
 * With no rate limit, trim_idle_us alone must keep a trickle whose
 * callbacks come 20 times more often from trimming at all.  One trim is
 * tolerated for a scheduling hiccup, and one per gap in which a loaded
 * machine held the producer back for longer than the idle time.
 */
static void test_trickle_busy_no_trim(void)
{
    unsigned ms = env_unsigned("QEMU_TRIM_TEST_TRICKLE_MS", 2000) / 2;
    int64_t idle_us = 20 * TRICKLE_PERIOD_US;
    int64_t window_us;
    uint64_t run, trims;
    unsigned late;

    set_trim_tunables(idle_us, 0);
    trims = trickle(ms, &window_us, &run, idle_us / 2, &late);
    g_test_message("%" PRIu64 " callbacks in %" PRId64 " ms: %" PRIu64
                   " trim(s), %u late", run, window_us / 1000, trims, late);
    g_assert_cmpuint(run, >=, 20);
    g_assert_cmpuint(trims, <=, 1 + late);
#ifndef CONFIG_MALLOC_TRIM
    g_assert_cmpuint(test_rcu_stats().malloc_trims, ==, 0);
#endif
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* First, while the heap is still small and unfragmented. */
    g_test_add_func("/malloc-trim/burst", test_burst);
    g_test_add_func("/malloc-trim/trickle-rate-limit",
                    test_trickle_rate_limit);
    g_test_add_func("/malloc-trim/trickle-busy-no-trim",
                    test_trickle_busy_no_trim);
    return g_test_run();
}
