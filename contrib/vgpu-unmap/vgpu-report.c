/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-unmap's JSON and CSV output (see vgpu-report.h).  Latencies are
 * in milliseconds, in the order the unmaps completed.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include <json-glib/json-glib.h>
#include "vgpu-report.h"

bool vgpu_result_ok(const VgpuResult *r)
{
    return !r->hung && !r->missed_deadline && !r->vcpu.violations &&
           !r->finalize_errors && !r->breakdown.order_errors;
}

static double ms(int64_t ns)
{
    return ns / 1e6;
}

static void add_int(JsonBuilder *b, const char *name, int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

static void add_ms(JsonBuilder *b, const char *name, int64_t ns)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, ms(ns));
}

static void add_us(JsonBuilder *b, const char *name, int64_t ns)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, ns / 1e3);
}

static void add_bool(JsonBuilder *b, const char *name, bool v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, v);
}

static void begin_object(JsonBuilder *b, const char *name)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
}

static void build_config(JsonBuilder *b, const VgpuConfig *cfg)
{
    begin_object(b, "config");
    add_int(b, "vcpus", cfg->vcpus);
    add_bool(b, "kick", cfg->kick);
    add_int(b, "section_ms", cfg->section_ms);
    add_int(b, "mmio_us", cfg->mmio_us);
    add_int(b, "bql_hold_us", cfg->bql_hold_us);
    add_bool(b, "drain_under_bql", cfg->drain_under_bql);
    add_int(b, "region_size", cfg->region_size);
    add_int(b, "deadline_ms", cfg->deadline_ms);
    add_bool(b, "breakdown", cfg->breakdown);
    json_builder_end_object(b);
}

static void build_latency(JsonBuilder *b, const VgpuResult *r)
{
    const VgpuLatency *l = &r->latency;

    begin_object(b, "latency_ms");
    add_ms(b, "min", l->min_ns);
    add_ms(b, "p50", l->p50_ns);
    add_ms(b, "p90", l->p90_ns);
    add_ms(b, "p99", l->p99_ns);
    add_ms(b, "max", l->max_ns);
    add_ms(b, "mean", l->mean_ns);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "latencies_ms");
    json_builder_begin_array(b);
    for (guint i = 0; r->latency_ns && i < r->latency_ns->len; i++) {
        json_builder_add_double_value(b,
            ms(g_array_index(r->latency_ns, int64_t, i)));
    }
    json_builder_end_array(b);
}

static void build_counters(JsonBuilder *b, const VgpuResult *r)
{
    begin_object(b, "rcu");
    add_int(b, "grace_periods", r->rcu.grace_periods);
    add_int(b, "forced_grace_periods", r->rcu.forced_grace_periods);
    add_int(b, "force_rcu_notifier_calls", r->rcu.force_rcu_notifier_calls);
    add_int(b, "callbacks_run", r->rcu.callbacks_run);
    add_int(b, "stall_warnings", r->rcu.stall_warnings);
    json_builder_set_member_name(b, "max_grace_period_ms");
    if (r->max_grace_period_in_run) {
        json_builder_add_double_value(b, ms(r->rcu.max_grace_period_ns));
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);

    begin_object(b, "vcpu");
    add_int(b, "sections", r->vcpu.sections);
    add_int(b, "kick_exits", r->vcpu.kick_exits);
    add_int(b, "own_exits", r->vcpu.own_exits);
    add_ms(b, "max_section_ms", r->vcpu.max_section_ns);
    add_ms(b, "max_poll_gap_ms", r->vcpu.max_poll_gap_ns);
    add_int(b, "mmio", r->vcpu.mmio);
    add_int(b, "violations", r->vcpu.violations);
    json_builder_end_object(b);

    begin_object(b, "device");
    add_int(b, "suspends", r->suspends);
    add_int(b, "replays", r->replays);
    add_int(b, "blobs_finalized", r->blobs_finalized);
    add_int(b, "finalize_errors", r->finalize_errors);
    add_int(b, "force_rcu_calls", r->force_rcus);
    add_ms(b, "max_drain_ms", r->max_drain_ns);
    json_builder_end_object(b);
}

static void build_latency_us(JsonBuilder *b, const char *name,
                             const VgpuLatency *l)
{
    begin_object(b, name);
    add_int(b, "count", l->count);
    if (l->count) {
        add_us(b, "min", l->min_ns);
        add_us(b, "p50", l->p50_ns);
        add_us(b, "p90", l->p90_ns);
        add_us(b, "p99", l->p99_ns);
        add_us(b, "max", l->max_ns);
        add_us(b, "mean", l->mean_ns);
    }
    json_builder_end_object(b);
}

/* Instants from each unmap's submission in us, 0 when not seen. */
static void add_stamps_us(JsonBuilder *b, const char *name, int64_t submit,
                          const int64_t *stamps, unsigned n)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (unsigned i = 0; i < n; i++) {
        int64_t t = qatomic_read__nocheck(&stamps[i]);

        if (t) {
            json_builder_add_double_value(b, (t - submit) / 1e3);
        } else {
            json_builder_add_null_value(b);
        }
    }
    json_builder_end_array(b);
}

static void build_breakdown(JsonBuilder *b, const VgpuConfig *cfg,
                            const VgpuResult *r)
{
    const VgpuBreakdown *bd = &r->breakdown;
    unsigned vcpus = MIN(cfg->vcpus, VGPU_TRACE_MAX_VCPUS);

    begin_object(b, "breakdown_us");
    add_int(b, "order_errors", bd->order_errors);
    begin_object(b, "from_submission");
    for (int e = 0; e < VGPU_EV_COUNT; e++) {
        build_latency_us(b, vgpu_trace_event_keys[e], &bd->event[e]);
    }
    json_builder_end_object(b);
    begin_object(b, "stages");
    for (int s = 0; s < VGPU_ST_COUNT; s++) {
        build_latency_us(b, vgpu_trace_stage_keys[s], &bd->stage[s]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "vcpus");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < vcpus; i++) {
        json_builder_begin_object(b);
        build_latency_us(b, "notified", &bd->notified[i]);
        build_latency_us(b, "left", &bd->left[i]);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    /* Every unmap's instants, in completion order. */
    json_builder_set_member_name(b, "unmaps");
    json_builder_begin_array(b);
    for (guint k = 0; r->traces && k < r->traces->len; k++) {
        const VgpuUnmapTrace *t = g_ptr_array_index(r->traces, k);
        const int64_t *one[] = {
            &t->step1_ns, &t->finalize_ns, &t->bh_ns, &t->complete_ns,
        };
        static const char *const names[] = {
            "step1", "finalize", "bh", "complete",
        };

        json_builder_begin_object(b);
        for (unsigned j = 0; j < G_N_ELEMENTS(one); j++) {
            add_stamps_us(b, names[j], t->submit_ns, one[j], 1);
        }
        add_stamps_us(b, "notified", t->submit_ns, t->notified_ns, vcpus);
        add_stamps_us(b, "left", t->submit_ns, t->left_ns, vcpus);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void build_run(JsonBuilder *b, const VgpuConfig *cfg,
                      const VgpuResult *r, bool force)
{
    json_builder_begin_object(b);
    add_bool(b, "force_on_unmap", force);
    add_int(b, "unmaps", r->unmaps);
    add_int(b, "missed_deadline", r->missed_deadline);
    add_bool(b, "hung", r->hung);
    add_ms(b, "elapsed_ms", r->elapsed_ns);
    build_latency(b, r);
    build_counters(b, r);
    if (cfg->breakdown) {
        build_breakdown(b, cfg, r);
    }
    add_bool(b, "ok", vgpu_result_ok(r));
    json_builder_end_object(b);
}

/* @text, NUL-terminated, to @path or, for "-", to standard output. */
static bool write_text(const char *path, const char *text, GError **errp)
{
    if (strcmp(path, "-") == 0) {
        fputs(text, stdout);
        return fflush(stdout) == 0;
    }
    return g_file_set_contents(path, text, -1, errp);
}

bool vgpu_report_json(const char *path, const VgpuConfig *cfg,
                      const VgpuResult *runs, const bool *force_on_unmap,
                      unsigned nruns, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;
    bool ok = true;

    json_builder_begin_object(b);
    build_config(b, cfg);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < nruns; i++) {
        build_run(b, cfg, &runs[i], force_on_unmap[i]);
        ok = ok && vgpu_result_ok(&runs[i]);
    }
    json_builder_end_array(b);
    add_bool(b, "ok", ok);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, true);
    text = json_generator_to_data(gen, NULL);
    line = g_strconcat(text, "\n", NULL);
    return write_text(path, line, errp);
}

bool vgpu_report_csv(const char *path, const VgpuConfig *cfg,
                     const VgpuResult *runs, const bool *force_on_unmap,
                     unsigned nruns, GError **errp)
{
    g_autoptr(GString) s = g_string_new("kick,force_on_unmap,unmap,"
                                        "latency_ms\n");

    for (unsigned i = 0; i < nruns; i++) {
        const GArray *lat = runs[i].latency_ns;

        for (guint j = 0; lat && j < lat->len; j++) {
            g_string_append_printf(s, "%d,%d,%u,%.6f\n", cfg->kick,
                                   force_on_unmap[i], j,
                                   ms(g_array_index(lat, int64_t, j)));
        }
    }
    return write_text(path, s->str, errp);
}
