/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * vgpu-unmap: runs the virtio-gpu-like blob unmap path against TCG-like
 * vCPUs and prints how long unmaps take.  See docs/vgpu-unmap.md.
 */
#include "qemu/osdep.h"
#include "qemu/rcu-ext.h"
#include "vgpu-machine.h"
#include "vgpu-report.h"

enum {
    EXIT_LATE = 1,              /* an unmap missed the deadline, or unsafe */
    EXIT_USAGE = 2,
    EXIT_HUNG = 3,
};

typedef struct Progress {
    bool enabled;
    bool shown;
    int64_t last_print_ns;
} Progress;

/* Long runs only: short ones would just flicker. */
#define PROGRESS_AFTER_NS    (1000 * 1000000LL)
#define PROGRESS_PERIOD_NS   (100 * 1000000LL)

static void show_progress(const VgpuProgress *p, void *opaque)
{
    Progress *pr = opaque;
    int64_t now = vgpu_clock_ns();

    if (p->elapsed_ns < PROGRESS_AFTER_NS ||
        now - pr->last_print_ns < PROGRESS_PERIOD_NS) {
        return;
    }
    pr->last_print_ns = now;
    pr->shown = true;
    if (p->total) {
        fprintf(stderr, "\r\033[Kvgpu-unmap: %u/%u unmaps, last %.1f ms, "
                "%.1f s", p->done, p->total, p->last_ns / 1e6,
                p->elapsed_ns / 1e9);
    } else {
        fprintf(stderr, "\r\033[Kvgpu-unmap: %u unmaps, last %.1f ms, %.1f s",
                p->done, p->last_ns / 1e6, p->elapsed_ns / 1e9);
    }
}

static bool parse_size(const char *s, size_t *out)
{
    char *end;
    guint64 v;

    errno = 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s) {
        return false;
    }
    switch (g_ascii_toupper(*end)) {
    case 'K':
        v <<= 10;
        end++;
        break;
    case 'M':
        v <<= 20;
        end++;
        break;
    case 'G':
        v <<= 30;
        end++;
        break;
    }
    if (g_ascii_toupper(*end) == 'I' && g_ascii_toupper(end[1]) == 'B') {
        end += 2;
    } else if (g_ascii_toupper(*end) == 'B') {
        end++;
    }
    if (*end || v == 0 || v > (guint64)1 << 32) {
        return false;
    }
    *out = v;
    return true;
}

static char *format_size(size_t size)
{
    if (size >= (1 << 20) && size % (1 << 20) == 0) {
        return g_strdup_printf("%zu MiB", size >> 20);
    }
    if (size >= 1024 && size % 1024 == 0) {
        return g_strdup_printf("%zu KiB", size >> 10);
    }
    return g_strdup_printf("%zu bytes", size);
}

/* What an unmap does, with the library's current forcing thresholds. */
static void print_mode(const VgpuConfig *cfg, bool compare)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    if (compare) {
        printf("  unmap: call_rcu() only, then call_rcu() + force_rcu() "
               "(--compare-force)\n");
    } else if (cfg->force_on_unmap) {
        printf("  unmap: call_rcu() + force_rcu() (--force-on-unmap): its "
               "grace period forces at once\n");
        return;
    } else {
        printf("  unmap: call_rcu() only\n");
    }
    printf("  grace periods force after %u callbacks or %.1f ms of polling\n",
           t.force_callbacks, t.force_after_us / 1e3);
}

static void print_header(const VgpuConfig *cfg, unsigned unmaps,
                         bool compare)
{
    g_autofree char *size = format_size(cfg->region_size);

    printf("vgpu-unmap: %u vCPU%s %s force_rcu notifiers, %u unmaps of "
           "%s blobs\n", cfg->vcpus, cfg->vcpus == 1 ? "" : "s",
           cfg->kick ? "with" : "WITHOUT", unmaps, size);
    printf("  vCPUs leave their sections %s", cfg->kick ?
           "when kicked" : "only on their own");
    if (cfg->section_ms) {
        printf("%s every %u ms", cfg->kick ? " or" : ",", cfg->section_ms);
    }
    if (cfg->mmio_us) {
        printf("; MMIO under the BQL every %u us", cfg->mmio_us);
    }
    printf("\n");
    print_mode(cfg, compare);
    if (cfg->bql_hold_us) {
        printf("  the device holds the BQL for %u us after each unmap\n",
               cfg->bql_hold_us);
    }
    if (cfg->drain_under_bql) {
        printf("  the device calls drain_call_rcu() with the BQL held after "
               "each unmap\n");
    }
    printf("\n");
    printf("unmap latency (ms)   count      min      p50      p90      p99"
           "      max     mean\n");
}

static void print_latency_row(const char *label, const VgpuLatency *l)
{
    printf("%-18s%8u %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", label,
           l->count, l->min_ns / 1e6, l->p50_ns / 1e6, l->p90_ns / 1e6,
           l->p99_ns / 1e6, l->max_ns / 1e6, l->mean_ns / 1e6);
}

static double ratio(int64_t without, int64_t with)
{
    return with > 0 ? (double)without / with : 0;
}

static void print_table(const VgpuConfig *cfg, const VgpuResult *r)
{
    print_header(cfg, r->unmaps, false);
    print_latency_row("", &r->latency);
    printf("\n");
    printf("RCU (rcu_get_stats, during the run)\n");
    printf("  grace periods                 %10" PRIu64 "\n",
           r->rcu.grace_periods);
    printf("  forced grace periods          %10" PRIu64 "\n",
           r->rcu.forced_grace_periods);
    printf("  force_rcu notifier calls      %10" PRIu64 "\n",
           r->rcu.force_rcu_notifier_calls);
    printf("  stall warnings                %10" PRIu64 "\n",
           r->rcu.stall_warnings);
    if (r->max_grace_period_in_run) {
        printf("  longest grace period (ms)     %10.2f\n",
               r->rcu.max_grace_period_ns / 1e6);
    } else {
        printf("  longest grace period (ms)     %10s\n", "n/a");
    }
    printf("vCPUs\n");
    printf("  read-side critical sections   %10" PRIu64 "\n",
           r->vcpu.sections);
    printf("    left when kicked            %10" PRIu64 "\n",
           r->vcpu.kick_exits);
    printf("    left on their own           %10" PRIu64 "\n",
           r->vcpu.own_exits);
    printf("  longest section (ms)          %10.2f\n",
           r->vcpu.max_section_ns / 1e6);
    printf("  longest pause between polls   %10.2f  (descheduled or "
           "in MMIO)\n", r->vcpu.max_poll_gap_ns / 1e6);
    printf("  MMIO accesses under the BQL   %10" PRIu64 "\n", r->vcpu.mmio);
    printf("  finalized regions seen        %10" PRIu64 "\n",
           r->vcpu.violations);
    printf("device\n");
    printf("  unmaps suspended              %10" PRIu64 "\n", r->suspends);
    printf("  suspended unmaps replayed     %10" PRIu64 "\n", r->replays);
    printf("  blobs finalized               %10" PRIu64 "\n",
           r->blobs_finalized);
    printf("  finalize errors               %10" PRIu64 "\n",
           r->finalize_errors);
    if (cfg->force_on_unmap) {
        printf("  force_rcu() calls             %10" PRIu64 "\n",
               r->force_rcus);
    }
    if (cfg->drain_under_bql) {
        printf("  longest drain_call_rcu (ms)   %10.2f\n",
               r->max_drain_ns / 1e6);
    }
    printf("\n%s: %u of %u unmaps over the %u ms deadline, %.2f s\n",
           vgpu_result_ok(r) ? "OK" : "FAILED", r->missed_deadline, r->unmaps,
           cfg->deadline_ms, r->elapsed_ns / 1e9);
}

/* @r[0] ran without force_rcu() at the unmap, @r[1] with it. */
static void print_compare_table(const VgpuConfig *cfg, const VgpuResult *r)
{
    const VgpuLatency *a = &r[0].latency, *b = &r[1].latency;

    print_header(cfg, r[0].unmaps, true);
    print_latency_row("call_rcu() only", a);
    print_latency_row("+ force_rcu()", b);
    printf("%-18s%8s %7.1fx %7.1fx %7.1fx %7.1fx %7.1fx %7.1fx\n",
           "ratio", "", ratio(a->min_ns, b->min_ns),
           ratio(a->p50_ns, b->p50_ns), ratio(a->p90_ns, b->p90_ns),
           ratio(a->p99_ns, b->p99_ns), ratio(a->max_ns, b->max_ns),
           ratio(a->mean_ns, b->mean_ns));
    printf("\n");
    printf("                                call_rcu()  + force_rcu()\n");
#define ROW(name, field)                                               \
    printf("  %-28s%10" PRIu64 " %14" PRIu64 "\n", name,               \
           (uint64_t)r[0].field, (uint64_t)r[1].field)
    ROW("grace periods", rcu.grace_periods);
    ROW("forced grace periods", rcu.forced_grace_periods);
    ROW("force_rcu() calls (device)", force_rcus);
    ROW("force_rcu notifier calls", rcu.force_rcu_notifier_calls);
    ROW("sections left when kicked", vcpu.kick_exits);
    ROW("sections left on their own", vcpu.own_exits);
    ROW("stall warnings", rcu.stall_warnings);
    ROW("finalized regions seen", vcpu.violations);
    ROW("finalize errors", finalize_errors);
    ROW("unmaps over the deadline", missed_deadline);
#undef ROW
    printf("  %-28s%10.2f %14.2f\n", "longest poll gap (ms)",
           r[0].vcpu.max_poll_gap_ns / 1e6, r[1].vcpu.max_poll_gap_ns / 1e6);
    printf("  %-28s%10.2f %14.2f\n", "run time (s)",
           r[0].elapsed_ns / 1e9, r[1].elapsed_ns / 1e9);
    printf("\nforce_rcu() at the unmap: p50 %.2f ms -> %.2f ms (%.1fx), "
           "mean %.2f ms -> %.2f ms (%.1fx)\n",
           a->p50_ns / 1e6, b->p50_ns / 1e6, ratio(a->p50_ns, b->p50_ns),
           a->mean_ns / 1e6, b->mean_ns / 1e6, ratio(a->mean_ns, b->mean_ns));
    printf("%s: %u of %u unmaps over the %u ms deadline, %.2f s\n",
           vgpu_result_ok(&r[0]) && vgpu_result_ok(&r[1]) ? "OK" : "FAILED",
           r[0].missed_deadline + r[1].missed_deadline,
           r[0].unmaps + r[1].unmaps, cfg->deadline_ms,
           (r[0].elapsed_ns + r[1].elapsed_ns) / 1e9);
}

static void print_breakdown_row(const char *label, const VgpuLatency *l)
{
    if (!l->count) {
        printf("  %-46s%6u %9s\n", label, 0, "not seen");
        return;
    }
    printf("  %-46s%6u %9.1f %9.1f %9.1f %9.1f %9.1f\n", label, l->count,
           l->min_ns / 1e3, l->p50_ns / 1e3, l->p90_ns / 1e3,
           l->p99_ns / 1e3, l->max_ns / 1e3);
}

/* Per-vCPU rows only for a few vCPUs; the JSON has them all. */
#define BREAKDOWN_VCPU_ROWS 4

/* --breakdown: where each unmap's time went (vgpu-trace.h). */
static void print_breakdown(const char *title, const VgpuResult *r)
{
    const VgpuBreakdown *b = &r->breakdown;
    double load[3] = { 0, 0, 0 };

    getloadavg(load, 3);
    printf("\nunmap breakdown%s%s, us, load average %.2f\n",
           title ? ": " : "", title ? title : "", load[0]);
    printf("  %-46s%6s %9s %9s %9s %9s %9s\n", "from the submission to ...",
           "n", "min", "p50", "p90", "p99", "max");
    for (int e = 0; e < VGPU_EV_COUNT; e++) {
        print_breakdown_row(vgpu_trace_event_names[e], &b->event[e]);
    }
    for (unsigned i = 0; b->vcpus <= BREAKDOWN_VCPU_ROWS && i < b->vcpus;
         i++) {
        g_autofree char *n = g_strdup_printf("vcpu%u's notifier ran", i);
        g_autofree char *l = g_strdup_printf("vcpu%u left its section", i);

        print_breakdown_row(n, &b->notified[i]);
        print_breakdown_row(l, &b->left[i]);
    }
    printf("  %-46s\n", "stages");
    for (int s = 0; s < VGPU_ST_COUNT; s++) {
        print_breakdown_row(vgpu_trace_stage_names[s], &b->stage[s]);
    }
    printf("  unmaps with stamps out of order (must be 0)  %6u\n",
           b->order_errors);
}

/*
 * The table on standard output, unless a report goes there; then the
 * JSON and CSV files.  False if a file could not be written.
 */
static bool write_reports(const VgpuConfig *cfg, const VgpuResult *res,
                          bool compare, const char *json, const char *csv)
{
    const bool force[2] = { compare ? false : cfg->force_on_unmap, true };
    unsigned nruns = compare ? 2 : 1;
    g_autoptr(GError) err = NULL;

    if (!(json && !strcmp(json, "-")) && !(csv && !strcmp(csv, "-"))) {
        if (compare) {
            print_compare_table(cfg, res);
        } else {
            print_table(cfg, res);
        }
        if (cfg->breakdown) {
            print_breakdown(compare ? "call_rcu() only" : NULL, &res[0]);
        }
        if (cfg->breakdown && compare) {
            print_breakdown("+ force_rcu()", &res[1]);
        }
    }
    fflush(stdout);
    if (json && !vgpu_report_json(json, cfg, res, force, nruns, &err)) {
        fprintf(stderr, "vgpu-unmap: %s\n", err->message);
        return false;
    }
    if (csv && !vgpu_report_csv(csv, cfg, res, force, nruns, &err)) {
        fprintf(stderr, "vgpu-unmap: %s\n", err->message);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    VgpuConfig cfg;
    VgpuResult res[2];
    Progress progress = { 0 };
    gint vcpus, unmaps, deadline_ms, section_ms = -1, mmio_us, hold_us = 0;
    gint stall_ms = -1;
    gdouble duration = 0;
    gboolean no_kick = false, drain = false;
    g_autofree char *json = NULL, *csv = NULL;
    gboolean force_on_unmap = false, compare = false, breakdown = false;
    g_autofree char *size_str = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GOptionContext) ctx = NULL;
    bool ok, written;

    vgpu_config_init(&cfg);
    vcpus = cfg.vcpus;
    unmaps = cfg.unmaps;
    deadline_ms = cfg.deadline_ms;
    mmio_us = cfg.mmio_us;

    GOptionEntry entries[] = {
        { "vcpus", 'c', 0, G_OPTION_ARG_INT, &vcpus,
          "vCPU threads (default 2)", "N" },
        { "unmaps", 'n', 0, G_OPTION_ARG_INT, &unmaps,
          "blobs to map and unmap, 0 = until --duration (default 30)", "N" },
        { "region-size", 's', 0, G_OPTION_ARG_STRING, &size_str,
          "bytes per blob, K/M/G suffixes (default 1M)", "SIZE" },
        { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration,
          "stop issuing unmaps after this many seconds (default: none)",
          "SECONDS" },
        { "no-kick", 0, 0, G_OPTION_ARG_NONE, &no_kick,
          "vCPUs without force_rcu notifiers: they leave their "
          "critical sections only on their own", NULL },
        { "section-ms", 0, 0, G_OPTION_ARG_INT, &section_ms,
          "vCPUs leave each critical section on their own after this "
          "long, 0 = never (default 0, or 200 with --no-kick)", "MS" },
        { "mmio-us", 0, 0, G_OPTION_ARG_INT, &mmio_us,
          "vCPUs take the BQL inside their critical sections this "
          "often, 0 = never (default 1000)", "US" },
        { "bql-hold-us", 0, 0, G_OPTION_ARG_INT, &hold_us,
          "the device keeps the BQL this long after each unmap", "US" },
        { "drain", 0, 0, G_OPTION_ARG_NONE, &drain,
          "the device calls drain_call_rcu() with the BQL held after "
          "each unmap", NULL },
        { "force-on-unmap", 0, 0, G_OPTION_ARG_NONE, &force_on_unmap,
          "the device calls force_rcu() right after queueing the old map "
          "with call_rcu(), so the unmap's grace period forces at once",
          NULL },
        { "compare-force", 0, 0, G_OPTION_ARG_NONE, &compare,
          "run the workload twice, without then with --force-on-unmap, "
          "and compare the unmap latencies", NULL },
        { "breakdown", 0, 0, G_OPTION_ARG_NONE, &breakdown,
          "timestamp each stage of every unmap (step 1, each vCPU's "
          "notifier and exit, the callback, the resume BH, completion) "
          "and print their percentiles", NULL },
        { "deadline", 0, 0, G_OPTION_ARG_INT, &deadline_ms,
          "fail if an unmap takes longer (default 1000)", "MS" },
        { "stall-ms", 0, 0, G_OPTION_ARG_INT, &stall_ms,
          "RCU stall warning threshold, 0 = off (default: the "
          "library's, QEMU_RCU_STALL_TIMEOUT_MS)", "MS" },
        { "json", 0, 0, G_OPTION_ARG_FILENAME, &json,
          "also write the results, every unmap's latency included, as "
          "JSON to FILE (- for standard output, instead of the table)",
          "FILE" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv,
          "also write every unmap's latency as CSV to FILE (- for "
          "standard output, instead of the table)", "FILE" },
        { NULL }
    };

    ctx = g_option_context_new("- time virtio-gpu-like blob unmaps");
    g_option_context_set_summary(ctx,
        "Maps and unmaps blobs while TCG-like vCPUs spin in RCU read-side\n"
        "critical sections, and reports how long each unmap waits for its\n"
        "grace period.  Exits with 1 if an unmap misses the deadline, 3 if\n"
        "one never completes, 2 on a usage error or an unwritable file.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "vgpu-unmap: %s\n", err->message);
        return EXIT_USAGE;
    }
    if (argc > 1) {
        fprintf(stderr, "vgpu-unmap: unexpected argument '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    if (size_str && !parse_size(size_str, &cfg.region_size)) {
        fprintf(stderr, "vgpu-unmap: bad --region-size '%s'\n", size_str);
        return EXIT_USAGE;
    }
    if (vcpus < 1 || vcpus > 64 || unmaps < 0 || deadline_ms < 1 ||
        section_ms < -1 || mmio_us < 0 || hold_us < 0 || stall_ms < -1 ||
        duration < 0 || duration > 86400 || (!unmaps && !duration)) {
        fprintf(stderr, "vgpu-unmap: bad option value (see --help)\n");
        return EXIT_USAGE;
    }

    cfg.vcpus = vcpus;
    cfg.unmaps = unmaps;
    cfg.duration_ms = duration * 1000;
    cfg.kick = !no_kick;
    /* Without kicks the run is bounded only by the vCPUs' own exits. */
    cfg.section_ms = section_ms >= 0 ? section_ms : no_kick ? 200 : 0;
    if (!cfg.kick && !cfg.section_ms) {
        fprintf(stderr, "vgpu-unmap: --no-kick needs --section-ms > 0, "
                "or no grace period could ever end\n");
        return EXIT_USAGE;
    }
    cfg.mmio_us = mmio_us;
    cfg.bql_hold_us = hold_us;
    cfg.drain_under_bql = drain;
    cfg.force_on_unmap = force_on_unmap && !compare;
    cfg.breakdown = breakdown;
    cfg.deadline_ms = deadline_ms;
    cfg.hang_ms = MAX(cfg.hang_ms, 10 * cfg.deadline_ms);

    if (stall_ms >= 0) {
        RcuTunables t;

        rcu_get_tunables(&t);
        t.stall_timeout_ms = stall_ms;
        rcu_set_tunables(&t);
    }

    progress.enabled = isatty(STDERR_FILENO);
    if (progress.enabled) {
        cfg.progress = show_progress;
        cfg.progress_opaque = &progress;
    }

    ok = vgpu_machine_run(&cfg, &res[0]);
    if (ok && compare) {
        VgpuConfig forced = cfg;

        forced.force_on_unmap = true;
        ok = vgpu_machine_run(&forced, &res[1]);
    }
    if (progress.shown) {
        fprintf(stderr, "\r\033[K");
    }
    /* A first run that hung is reported alone. */
    if (compare && res[0].hung) {
        compare = false;
    }
    written = write_reports(&cfg, res, compare, json, csv);
    if (!ok) {
        fprintf(stderr, "vgpu-unmap: an unmap hung; exiting without "
                "tearing down\n");
        _exit(EXIT_HUNG);
    }
    ok = vgpu_result_ok(&res[0]) && (!compare || vgpu_result_ok(&res[1]));
    vgpu_result_clear(&res[0]);
    if (compare) {
        vgpu_result_clear(&res[1]);
    }
    if (!written) {
        return EXIT_USAGE;
    }
    return ok ? EXIT_SUCCESS : EXIT_LATE;
}
