/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * trim-bench: what the call_rcu thread's malloc_trim() buys and costs
 * (docs/malloc-trim.md).
 *
 * Two scenarios, each run in a fresh child process per policy so that
 * every policy starts from the same heap:
 *
 *  - burst: the main thread allocates --burst-mib of small objects,
 *    pins the heap top with one more allocation and frees the burst with
 *    g_free_rcu(); reports peak RSS, RSS after --settle-ms and how long
 *    RSS took to fall back to within a quarter of the burst.
 *
 *  - trickle: a fixed number of call_rcu() (--trickle-callbacks, by
 *    default --trickle-ms / --period-us), one every --period-us, each
 *    freeing --churn-kib of small objects that the main thread allocated
 *    just before, over a --heap-mib heap full of small holes (so that
 *    every malloc_trim() has a heap to walk and freed pages to hand back,
 *    which the next allocations fault in again, as in a busy QEMU).  The
 *    measurement ends once every one of them has run and any trim they
 *    left due has happened, so that every policy does the same work;
 *    reports trims, process CPU time (getrusage) and the call_rcu
 *    thread's CPU time (/proc/self/task/TID/schedstat), in total and per
 *    callback.
 *
 * Policies: "policy" (this library's tunables as they are), "every-idle"
 * (trim_idle_us=0 trim_min_interval_ms=0: a trim on every idle transition
 * like QEMU 10.0) and "no-trim", which needs a -Dmalloc_trim=disabled
 * build: such a build measures it itself, and an enabled build can run
 * one through --no-trim-bench=PATH.  Two more columns, "qemu-10.0" and
 * "qemu-10.2", come from this program built against QEMU's own rcu.c
 * (tests/bench/anchors.sh --trim), whose call_rcu thread trims after
 * every batch; it has no statistics, so its trim counts are "-".
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#ifdef BENCH_ANCHOR
typedef struct RcuStats {
    uint64_t malloc_trims;
    uint64_t callbacks_run;
} RcuStats;

static RcuStats test_rcu_stats(void)
{
    return (RcuStats) { 0, 0 };
}

#include "test-rss.h"
/* A figure the library cannot report. */
#define FROM_STATS(x) ((void)(x), -1)
#else
#include "qemu/rcu-ext.h"
#include "test-util.h"
#define FROM_STATS(x) (x)
#endif

#include <sys/resource.h>
#include <sys/syscall.h>

#include "bench-util.h"

#define OBJ_SIZE 256

typedef struct BenchObj {
    struct rcu_head rcu;
    struct BenchObj *next;
    char payload[OBJ_SIZE - sizeof(struct rcu_head) - sizeof(void *)];
} BenchObj;

/* Bigger than the holes of the fragmented heap, so it never fits one. */
#define CHURN_OBJ_SIZE 512

typedef struct ChurnObj {
    struct ChurnObj *next;
    char payload[CHURN_OBJ_SIZE - sizeof(void *)];
} ChurnObj;

/*
 * What one trickle callback frees: a chain of objects, like a table that
 * an RCU update replaced, and the small allocation that sat above the
 * previous chain, so that the chain's memory is a hole in the middle of
 * the heap that free() cannot give back but malloc_trim() can.
 */
typedef struct TrickleBatch {
    struct rcu_head rcu;
    ChurnObj *chain;
    void *old_pin;
} TrickleBatch;

static int burst_mib = 96;
static int heap_mib = 16;
static int trickle_ms = 2000;
static int trickle_callbacks;
static int period_us = 5000;
static int churn_kib = 256;
static int settle_ms = 2000;
static int repeat = 3;
static gboolean quick;
static char *mode;
static char *no_trim_bench;
static char **anchors;

static GOptionEntry entries[] = {
    { "burst-mib", 0, 0, G_OPTION_ARG_INT, &burst_mib,
      "Size of the burst of small objects (96)", "MIB" },
    { "heap-mib", 0, 0, G_OPTION_ARG_INT, &heap_mib,
      "Fragmented heap under the trickle (16)", "MIB" },
    { "trickle-ms", 0, 0, G_OPTION_ARG_INT, &trickle_ms,
      "Nominal length of the callback trickle, which sets the number of "
      "callbacks unless --trickle-callbacks does (2000)", "MS" },
    { "trickle-callbacks", 0, 0, G_OPTION_ARG_INT, &trickle_callbacks,
      "Callbacks in the trickle, the same for every policy (trickle-ms / "
      "period-us)", "N" },
    { "period-us", 0, 0, G_OPTION_ARG_INT, &period_us,
      "Time between two trickle callbacks (5000)", "US" },
    { "churn-kib", 0, 0, G_OPTION_ARG_INT, &churn_kib,
      "Heap freed by each trickle callback (256)", "KIB" },
    { "settle-ms", 0, 0, G_OPTION_ARG_INT, &settle_ms,
      "How long RSS is watched after the burst (2000)", "MS" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat,
      "Runs per policy; medians are printed (3)", "N" },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick,
      "Small and short, to check that everything runs", NULL },
    { "no-trim-bench", 0, 0, G_OPTION_ARG_FILENAME, &no_trim_bench,
      "trim-bench of a -Dmalloc_trim=disabled build, for no-trim", "PATH" },
    { "anchor", 0, 0, G_OPTION_ARG_STRING_ARRAY, &anchors,
      "Fill the qemu-10.0 or qemu-10.2 column by running PATH, trim-bench "
      "built against that QEMU's rcu.c (tests/bench/anchors.sh --trim); "
      "repeatable", "qemu-10.x=PATH" },
    { "mode", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &mode,
      "Run one policy in this process and print its RESULT line", "MODE" },
    { NULL }
};

static const char *const modes[] = {
    "policy", "every-idle", "no-trim", "qemu-10.0", "qemu-10.2",
};

/* The figures of one run, in the order of the RESULT line. */
static const char *const fields[] = {
    "base_kib", "peak_kib", "settled_kib", "settle_ms", "burst_trims",
    "trickle_trims", "trickle_callbacks", "trickle_cpu_us",
    "trickle_thread_cpu_us", "trickle_cpu_us_per_100_callbacks",
};
#define NFIELDS G_N_ELEMENTS(fields)

static int64_t now_us(void)
{
    return g_get_monotonic_time();
}

static long rss_kib(void)
{
    long rss = test_rss_bytes();

    if (rss < 0) {
        g_error("cannot read /proc/self/statm");
    }
    return rss / 1024;
}

static int64_t process_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* CPU time of one thread of this process, or -1 without schedstat. */
static int64_t thread_cpu_us(int tid)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/schedstat",
                                            tid);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return -1;
    }
    return g_ascii_strtoll(text, NULL, 10) / 1000;
}

static int call_rcu_tid;
/* Trickle callbacks that have run; written by the call_rcu thread. */
static int batches_run;

static void record_tid(struct rcu_head *head)
{
    call_rcu_tid = (int)syscall(SYS_gettid);
    g_free(head);
}

static void free_batch(TrickleBatch *b)
{
    while (b->chain) {
        ChurnObj *next = b->chain->next;

        g_free(b->chain);
        b->chain = next;
    }
    g_free(b->old_pin);
    g_free(b);
    qatomic_set(&batches_run, qatomic_read(&batches_run) + 1);
}

/* Allocates a chain, queues its release; returns the pin above it. */
static void *queue_trickle_batch(void *pin)
{
    TrickleBatch *b = g_new0(TrickleBatch, 1);
    size_t count = ((size_t)churn_kib << 10) / sizeof(ChurnObj);

    for (size_t i = 0; i < count; i++) {
        ChurnObj *obj = g_new(ChurnObj, 1);

        memset(obj->payload, 0xa5, sizeof(obj->payload));
        obj->next = b->chain;
        b->chain = obj;
    }
    b->old_pin = pin;
    call_rcu(b, free_batch, rcu);
    return g_malloc(64);
}

/* Long enough for the call_rcu thread to take any trim that is due. */
static void wait_for_pending_trim(void)
{
#ifdef BENCH_ANCHOR
    /* QEMU's call_rcu thread trims when a batch is done. */
    drain_call_rcu();
    g_usleep(200000);
#else
    RcuTunables t;

    rcu_get_tunables(&t);
    drain_call_rcu();
    g_usleep(t.trim_idle_us + t.trim_min_interval_ms * 1000 + 100000);
#endif
}

static void run_burst(int64_t *r)
{
    size_t count = ((size_t)burst_mib << 20) / sizeof(BenchObj);
    BenchObj *head = NULL;
    long base, peak, settled, target;
    int64_t start, settle = -1;
    uint64_t trims;
    void *pin;

    base = rss_kib();
    for (size_t i = 0; i < count; i++) {
        BenchObj *obj = g_new(BenchObj, 1);

        memset(obj->payload, 0x5a, sizeof(obj->payload));
        obj->next = head;
        head = obj;
    }
    /* Keeps free() from shrinking the heap: only a trim can. */
    pin = g_malloc(OBJ_SIZE);
    peak = rss_kib();
    target = base + (peak - base) / 4;

    trims = test_rcu_stats().malloc_trims;
    start = now_us();
    while (head) {
        BenchObj *next = head->next;

        g_free_rcu(head, rcu);
        head = next;
    }
    drain_call_rcu();
    do {
        settled = rss_kib();
        if (settle < 0 && settled <= target) {
            settle = (now_us() - start) / 1000;
        }
        g_usleep(5000);
    } while (now_us() - start < (int64_t)settle_ms * 1000);

    r[0] = base;
    r[1] = peak;
    r[2] = settled;
    r[3] = settle;
    r[4] = FROM_STATS(test_rcu_stats().malloc_trims - trims);
    g_free(pin);
}

/* False if not every trickle callback ran. */
static bool run_trickle(int64_t *r)
{
    size_t count = ((size_t)heap_mib << 20) / sizeof(BenchObj);
    g_autofree BenchObj **heap = g_new(BenchObj *, count);
    int64_t cpu, thread_cpu;
    uint64_t trims;
    void *pin = NULL;

    /* Every other object freed: a heap of small holes, as in QEMU. */
    for (size_t i = 0; i < count; i++) {
        heap[i] = g_new(BenchObj, 1);
    }
    for (size_t i = 0; i < count; i += 2) {
        g_free(heap[i]);
    }
    wait_for_pending_trim();

    trims = test_rcu_stats().malloc_trims;
    qatomic_set(&batches_run, 0);
    cpu = process_cpu_us();
    thread_cpu = thread_cpu_us(call_rcu_tid);
    for (int i = 0; i < trickle_callbacks; i++) {
        pin = queue_trickle_batch(pin);
        g_usleep(period_us);
    }
    /*
     * The same work for every policy: all the callbacks run, and the
     * trims they leave due (after the last one, for an idle policy) are
     * counted too.  Sleeping costs no CPU.
     */
    wait_for_pending_trim();
    r[5] = FROM_STATS(test_rcu_stats().malloc_trims - trims);
    r[6] = qatomic_read(&batches_run);
    r[7] = process_cpu_us() - cpu;
    r[8] = thread_cpu < 0 ? -1 : thread_cpu_us(call_rcu_tid) - thread_cpu;
    r[9] = r[6] ? r[7] * 100 / r[6] : -1;

    g_free(pin);
    for (size_t i = 1; i < count; i += 2) {
        g_free(heap[i]);
    }
    if (r[6] != trickle_callbacks) {
        g_printerr("trim-bench: %" PRId64 " of %d trickle callbacks ran\n",
                   r[6], trickle_callbacks);
        return false;
    }
    return true;
}

static int run_mode(void)
{
    int64_t r[NFIELDS];
#ifdef BENCH_ANCHOR
    call_rcu1(g_new0(struct rcu_head, 1), record_tid);
    wait_for_pending_trim();
    run_burst(r);
    if (!run_trickle(r)) {
        return 1;
    }
    printf("RESULT %s trims_after_every_batch", mode);
#else
    RcuTunables t;

#ifdef CONFIG_MALLOC_TRIM
    if (!strcmp(mode, "no-trim")) {
        g_printerr("no-trim needs a -Dmalloc_trim=disabled build\n");
        return 1;
    }
#else
    if (strcmp(mode, "no-trim")) {
        g_printerr("%s needs a build with malloc_trim enabled\n", mode);
        return 1;
    }
#endif
    rcu_get_tunables(&t);
    if (!strcmp(mode, "every-idle")) {
        t.trim_idle_us = 0;
        t.trim_min_interval_ms = 0;
        rcu_set_tunables(&t);
    } else if (strcmp(mode, "policy") && strcmp(mode, "no-trim")) {
        g_printerr("unknown mode %s\n", mode);
        return 1;
    }

    call_rcu1(g_new0(struct rcu_head, 1), record_tid);
    wait_for_pending_trim();

    run_burst(r);
    if (!run_trickle(r)) {
        return 1;
    }

    printf("RESULT trim_idle_us=%u trim_min_interval_ms=%u", t.trim_idle_us,
           t.trim_min_interval_ms);
#endif
    for (int i = 0; i < NFIELDS; i++) {
        printf(" %s=%" PRId64, fields[i], r[i]);
    }
    printf("\n");
    return 0;
}

/* Runs one policy in a child; false if it cannot be measured. */
static bool run_child(const char *exe, const char *m, int64_t *r,
                      char **tunables)
{
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) words = NULL;
    char *argv[] = {
        (char *)exe,
        g_strdup_printf("--mode=%s", m),
        g_strdup_printf("--burst-mib=%d", burst_mib),
        g_strdup_printf("--heap-mib=%d", heap_mib),
        g_strdup_printf("--trickle-callbacks=%d", trickle_callbacks),
        g_strdup_printf("--period-us=%d", period_us),
        g_strdup_printf("--churn-kib=%d", churn_kib),
        g_strdup_printf("--settle-ms=%d", settle_ms),
        NULL
    };
    int status = 0;
    bool ok = false;

    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL,
                      NULL, &out, NULL, &status, &err)) {
        g_printerr("%s: %s\n", exe, err->message);
    } else if (!g_spawn_check_wait_status(status, &err)) {
        g_printerr("%s --mode=%s: %s\n", exe, m, err->message);
    } else if (!g_str_has_prefix(out, "RESULT ")) {
        g_printerr("%s --mode=%s: no RESULT line\n", exe, m);
    } else {
        ok = true;
    }
    for (int i = 1; argv[i]; i++) {
        g_free(argv[i]);
    }
    if (!ok) {
        return false;
    }

    g_strchomp(out);
    words = g_strsplit(out + strlen("RESULT "), " ", -1);
    g_free(*tunables);
    *tunables = g_strdup_printf("%s %s", words[0], words[1]);
    for (int i = 0; i < NFIELDS; i++) {
        g_autofree char *key = g_strdup_printf("%s=", fields[i]);

        r[i] = -1;
        for (char **w = words; *w; w++) {
            if (g_str_has_prefix(*w, key)) {
                r[i] = g_ascii_strtoll(*w + strlen(key), NULL, 10);
            }
        }
    }
    return true;
}

/* Median of @n runs; "never settled" (-1) sorts first, as it should. */
static int64_t median(int64_t *v, int n)
{
    return bench_percentile_i64(v, n, 50);
}

/* Columns that were asked for and did not produce a result. */
static bool failed[G_N_ELEMENTS(modes)];

static void print_row(const char *label, const int64_t *col,
                      const bool *have, double scale, const char *none)
{
    printf("%-42s", label);
    for (int m = 0; m < G_N_ELEMENTS(modes); m++) {
        if (!have[m]) {
            printf("%12s", failed[m] ? "failed" : "n/a");
        } else if (col[m] < 0) {
            printf("%12s", none);
        } else if (scale == 1) {
            printf("%12" PRId64, col[m]);
        } else {
            printf("%12.1f", col[m] / scale);
        }
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *self = NULL;
    g_autofree char *policy_tunables = NULL;
    int64_t med[NFIELDS][G_N_ELEMENTS(modes)];
    bool have[G_N_ELEMENTS(modes)] = { false };

    g_option_context_set_summary(ctx, "Peak and settled RSS after a burst "
                                 "of g_free_rcu(), and the CPU cost of "
                                 "malloc_trim() under a callback trickle.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("%s\n", err->message);
        return 1;
    }
    if (quick) {
        burst_mib = 16;
        heap_mib = 4;
        churn_kib = 64;
        trickle_ms = 300;
        settle_ms = 1200;
        repeat = 1;
    }
    if (trickle_callbacks <= 0) {
        trickle_callbacks = MAX(trickle_ms * 1000LL / MAX(period_us, 1), 1);
    }
    if (mode) {
        return run_mode();
    }
    repeat = MAX(repeat, 1);
    self = g_file_read_link("/proc/self/exe", NULL);

    for (int m = 0; m < G_N_ELEMENTS(modes); m++) {
        g_autofree char *tunables = NULL;
        g_autofree int64_t *runs = g_new(int64_t, NFIELDS * repeat);
        const char *exe = self;

#ifdef CONFIG_MALLOC_TRIM
        if (m == 2) {
            exe = no_trim_bench;
        }
#else
        if (m != 2) {
            exe = NULL;
        }
#endif
        if (m >= 3) {
            size_t len = strlen(modes[m]);

            exe = NULL;
            for (int i = 0; anchors && anchors[i]; i++) {
                if (!strncmp(anchors[i], modes[m], len) &&
                    anchors[i][len] == '=') {
                    exe = anchors[i] + len + 1;
                }
            }
        }
        if (!exe) {
            continue;
        }
        have[m] = true;
        for (int i = 0; i < repeat && have[m]; i++) {
            int64_t r[NFIELDS];

            have[m] = run_child(exe, modes[m], r, &tunables);
            for (int f = 0; f < NFIELDS; f++) {
                runs[f * repeat + i] = r[f];
            }
        }
        if (!have[m]) {
            failed[m] = true;
            continue;
        }
        for (int f = 0; f < NFIELDS; f++) {
            med[f][m] = median(runs + f * repeat, repeat);
        }
        if (m == 0) {
            policy_tunables = g_steal_pointer(&tunables);
        }
    }

    printf("trim-bench: burst of %d MiB in %d-byte objects freed with "
           "g_free_rcu(), RSS watched for %d ms;\n"
           "trickle of %d call_rcu() freeing %d KiB each, %d us apart, over "
           "a %d MiB heap of holes,\nmeasured until all have run and any "
           "trim due has happened;\nmedian of %d run(s) per policy, "
           "each in a fresh process.  policy: %s\n\n",
           burst_mib, OBJ_SIZE, settle_ms, trickle_callbacks, churn_kib,
           period_us, heap_mib, repeat,
           policy_tunables ? policy_tunables : "n/a");
    printf("%-42s", "");
    for (int m = 0; m < G_N_ELEMENTS(modes); m++) {
        printf("%12s", modes[m]);
    }
    printf("\n");

    print_row("burst: RSS before, MiB", med[0], have, 1024, "-");
    print_row("burst: peak RSS, MiB", med[1], have, 1024, "-");
    print_row("burst: settled RSS, MiB", med[2], have, 1024, "-");
    print_row("burst: RSS within 1/4 of base after, ms", med[3], have,
              1, "never");
    print_row("burst: trims", med[4], have, 1, "-");
    print_row("trickle: callbacks run", med[6], have, 1, "-");
    print_row("trickle: trims", med[5], have, 1, "-");
    print_row("trickle: process CPU, ms", med[7], have, 1000, "-");
    print_row("trickle: call_rcu thread CPU, ms", med[8], have, 1000,
              "n/a");
    print_row("trickle: process CPU per callback, us", med[9], have, 100,
              "-");

    /* What one trim costs the call_rcu thread, from the two trim modes. */
    if (have[0] && have[1] && med[5][1] > med[5][0] && med[8][0] >= 0) {
        printf("\ncall_rcu thread CPU per trim (every-idle minus policy): "
               "%.1f us\n",
               (double)(med[8][1] - med[8][0]) / (med[5][1] - med[5][0]));
    }
    if (!have[2] && !failed[2]) {
        printf("\nno-trim: build with -Dmalloc_trim=disabled and pass its "
               "trim-bench with --no-trim-bench=PATH\n");
    }
    for (int m = 0; m < G_N_ELEMENTS(modes); m++) {
        if (failed[m]) {
            g_printerr("trim-bench: the %s column failed (see above)\n",
                       modes[m]);
            return 1;
        }
    }
    return 0;
}
