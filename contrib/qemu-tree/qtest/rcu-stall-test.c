/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * RCU grace periods in a real emulator while a TCG vCPU never leaves its
 * read-side critical section.
 *
 * The guest is a 64 KiB -bios image whose reset vector holds "cli; jmp $":
 * the vCPU spins inside cpu_exec(), which stays in an RCU read-side
 * critical section until the vCPU is asked to exit, and with interrupts
 * off nothing in the guest asks it to.  Monitor commands that wait for RCU
 * then run against it:
 *
 *  - a device_add that fails (QMP and HMP): QEMU creates the device, drops
 *    it and calls drain_call_rcu() so that the removal deferred to RCU
 *    callbacks is over when the command returns;
 *  - memory hot-plug (object-add memory-backend-ram + device_add pc-dimm):
 *    the memory map changes and the old FlatView is reclaimed by call_rcu();
 *    a drain 200 ms later returns only after that reclaim ran, so it
 *    stalls if the grace period the call_rcu thread started on its own
 *    cannot end.
 *
 * Each of them ends in the call_rcu thread's synchronize_rcu(), which can
 * only complete once the spinning vCPU is kicked out of cpu_exec() by the
 * force_rcu notifier (QEMU commit 55d98e3ede "rcu: Unify force quiescent
 * state").  Every command must return within QEMU_RCU_STALL_BOUND seconds
 * (default 10: about a thousand times what a kicked vCPU needs); past it
 * the test prints "bound exceeded" and aborts, and libqtest kills QEMU.
 * Latencies are printed as "latency NAME: n=N p50=X ms max=Y ms".
 * QEMU_RCU_STALL_RUNS (default 20) commands are timed per test, with
 * QEMU_RCU_STALL_SMP (default 1) vCPUs.
 *
 * Each test also declares whether QEMU 10.0's own rcu.c must exceed the
 * bound ("stall") or may go either way ("either"), so that the harness
 * can check that a run of stock 10.0 still tells the two rcu.c apart.
 * With QEMU_RCU_STALL_DECLARE=1 the program prints one line per test,
 * "declare rcu-stall/NAME stock-10.0=stall|either", and exits.
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"

#define BIOS_SIZE (64 * 1024)
#define DIMM_MB 128

static char *bios_path;
static int runs = 20;
static int smp = 1;
static int bound = 10;
static char bound_msg[256];

typedef struct StallTest {
    const char *name;
    const char *machine;
    GTestDataFunc func;
    /*
     * QEMU 10.0's call_rcu thread starts a grace period for the callbacks
     * queued before the drain and waits in it without kicking the vCPU,
     * so the drain queued behind it never returns.  Only the hot-plug
     * test queues such a callback on purpose; after start-up alone it
     * depends on timing.
     */
    bool stock_10_0_stalls;
} StallTest;

static void on_alarm(int sig)
{
    /* Only async-signal-safe calls; the message was formatted earlier. */
    ssize_t n = write(STDOUT_FILENO, bound_msg, strlen(bound_msg));

    (void)n;
    abort();
}

static void arm(const char *what, int i)
{
    snprintf(bound_msg, sizeof(bound_msg),
             "# bound exceeded: %s #%d took more than %d s (-smp %d)\n",
             what, i, bound, smp);
    alarm(bound);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, n, sizeof(*ms), cmp_double);
    g_test_message("latency %s: n=%d p50=%.1f ms max=%.1f ms",
                   what, n, ms[n / 2], ms[n - 1]);
}

static double now_ms(void)
{
    return g_get_monotonic_time() / 1000.0;
}

static QTestState *start(const char *machine, const char *extra)
{
    QTestState *qts;
    QDict *resp;
    char *regs = NULL;
    int i;

    /* libqtest appends -accel qtest; the first -accel given wins. */
    qts = qtest_initf("-accel tcg,thread=multi -machine %s -nodefaults "
                      "-smp %d -bios %s %s", machine, smp, bios_path, extra);

    resp = qtest_qmp(qts, "{'execute': 'x-query-jit'}");
    g_assert(!qdict_haskey(resp, "error"));
    qobject_unref(resp);

    /*
     * The reset vector is at 0xfff0; the vCPU is in the loop once it has
     * executed the cli and sits on the jmp at 0xfff1.
     */
    for (i = 0; i < 1000; i++) {
        g_free(regs);
        regs = qtest_hmp(qts, "info registers");
        if (strstr(regs, "EIP=0000fff1")) {
            break;
        }
        g_usleep(10 * 1000);
    }
    g_assert_nonnull(strstr(regs, "EIP=0000fff1"));
    g_free(regs);
    /* Give the call_rcu thread time to start waiting for the vCPU. */
    g_usleep(200 * 1000);
    return qts;
}

static void qmp_failing_device_add(QTestState *qts, int i)
{
    g_autofree char *id = g_strdup_printf("bad%d", i);
    QDict *resp;

    resp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                     "{'driver': 'pc-dimm', 'id': %s, "
                     "'memdev': 'no-such-backend'}}", id);
    g_assert(qdict_haskey(resp, "error"));
    qobject_unref(resp);
}

static void test_qmp_drain(const void *data)
{
    const StallTest *t = data;
    QTestState *qts = start(t->machine, "");
    g_autofree double *ms = g_new(double, runs);
    int i;

    for (i = 0; i < runs; i++) {
        double t0 = now_ms();

        arm("QMP device_add (drain_call_rcu)", i);
        qmp_failing_device_add(qts, i);
        alarm(0);
        ms[i] = now_ms() - t0;
    }
    report(strcmp(t->machine, "pc") ? "qmp-device_add-drain-q35" :
           "qmp-device_add-drain", ms, runs);
    qtest_quit(qts);
}

static void test_hmp_drain(const void *data)
{
    const StallTest *t = data;
    QTestState *qts = start(t->machine, "");
    g_autofree double *ms = g_new(double, runs);
    int i;

    for (i = 0; i < runs; i++) {
        double t0 = now_ms();
        char *out;

        arm("HMP device_add (drain_call_rcu)", i);
        out = qtest_hmp(qts, "device_add pc-dimm,id=hbad%d,"
                        "memdev=no-such-backend", i);
        alarm(0);
        ms[i] = now_ms() - t0;
        g_assert_nonnull(strstr(out, "no-such-backend"));
        g_free(out);
    }
    report("hmp-device_add-drain", ms, runs);
    qtest_quit(qts);
}

static void test_memory_hotplug(const void *data)
{
    const StallTest *t = data;
    g_autofree char *mem = g_strdup_printf("-m 128M,slots=%d,maxmem=%dM",
                                           runs, 128 + runs * DIMM_MB);
    QTestState *qts = start(t->machine, mem);
    g_autofree double *ms = g_new(double, runs);
    QDict *resp;
    int i;

    for (i = 0; i < runs; i++) {
        g_autofree char *mem_id = g_strdup_printf("mem%d", i);
        g_autofree char *dimm_id = g_strdup_printf("dimm%d", i);
        double t0;

        arm("memory hot-plug", i);
        qtest_qmp_assert_success(qts, "{'execute': 'object-add', "
                                 "'arguments': {'qom-type': "
                                 "'memory-backend-ram', 'id': %s, "
                                 "'size': %d}}", mem_id, DIMM_MB << 20);
        qtest_qmp_assert_success(qts, "{'execute': 'device_add', "
                                 "'arguments': {'driver': 'pc-dimm', "
                                 "'id': %s, 'memdev': %s}}",
                                 dimm_id, mem_id);
        alarm(0);
        /*
         * Let the call_rcu thread start the grace period for the FlatView
         * the plug replaced before anything drains: the reclaim has to
         * finish on its own, not because a drain happened to be running.
         */
        g_usleep(200 * 1000);
        t0 = now_ms();
        arm("drain after memory hot-plug (call_rcu reclaim)", i);
        qmp_failing_device_add(qts, i);
        alarm(0);
        ms[i] = now_ms() - t0;
    }
    report("memory-hotplug-then-drain", ms, runs);

    /* Every DIMM is in the guest's memory map. */
    resp = qtest_qmp(qts, "{'execute': 'query-memory-devices'}");
    g_assert_cmpint(qlist_size(qdict_get_qlist(resp, "return")), ==, runs);
    qobject_unref(resp);
    qtest_quit(qts);
}

static const StallTest tests[] = {
    { "pc/qmp-device_add-drain", "pc", test_qmp_drain, false },
    { "pc/hmp-device_add-drain", "pc", test_hmp_drain, false },
    { "pc/memory-hotplug-then-drain", "pc", test_memory_hotplug, true },
    { "q35/qmp-device_add-drain", "q35", test_qmp_drain, false },
};

static int env_int(const char *name, int dflt, int min)
{
    const char *s = getenv(name);
    int v = s ? atoi(s) : dflt;

    return v < min ? min : v;
}

int main(int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autofree uint8_t *image = g_malloc0(BIOS_SIZE);
    static const uint8_t spin[] = { 0xfa, 0xeb, 0xfe };  /* cli; jmp $ */
    int ret;
    size_t i;

    if (getenv("QEMU_RCU_STALL_DECLARE")) {
        for (i = 0; i < G_N_ELEMENTS(tests); i++) {
            printf("declare rcu-stall/%s stock-10.0=%s\n", tests[i].name,
                   tests[i].stock_10_0_stalls ? "stall" : "either");
        }
        return 0;
    }
    g_test_init(&argc, &argv, NULL);
    runs = env_int("QEMU_RCU_STALL_RUNS", runs, 1);
    smp = env_int("QEMU_RCU_STALL_SMP", smp, 1);
    bound = env_int("QEMU_RCU_STALL_BOUND", bound, 1);
    signal(SIGALRM, on_alarm);

    dir = g_dir_make_tmp("rcu-stall-XXXXXX", NULL);
    g_assert_nonnull(dir);
    bios_path = g_build_filename(dir, "spin.bin", NULL);
    memcpy(image + 0xfff0, spin, sizeof(spin));
    g_assert(g_file_set_contents(bios_path, (char *)image, BIOS_SIZE, NULL));

    for (i = 0; i < G_N_ELEMENTS(tests); i++) {
        g_autofree char *path = g_strdup_printf("rcu-stall/%s",
                                                tests[i].name);

        qtest_add_data_func(path, &tests[i], tests[i].func);
    }
    ret = g_test_run();

    unlink(bios_path);
    rmdir(dir);
    g_free(bios_path);
    return ret;
}
