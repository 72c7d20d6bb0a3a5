/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Machine-readable results of vgpu-unmap: every unmap's latency and the
 * run's counters, as JSON (json-glib) or CSV.  scripts/plot-vgpu.py
 * plots the JSON.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#ifndef VGPU_REPORT_H
#define VGPU_REPORT_H

#include "vgpu-machine.h"

/*
 * No hang, no missed deadline, no reader saw a finalized region, and
 * with --breakdown every unmap's stamps in order.
 */
bool vgpu_result_ok(const VgpuResult *r);

/*
 * @runs[i] ran with @force_on_unmap[i].  @path "-" is standard output.
 * Return false with @errp set if the file cannot be written.
 */
bool vgpu_report_json(const char *path, const VgpuConfig *cfg,
                      const VgpuResult *runs, const bool *force_on_unmap,
                      unsigned nruns, GError **errp);
bool vgpu_report_csv(const char *path, const VgpuConfig *cfg,
                     const VgpuResult *runs, const bool *force_on_unmap,
                     unsigned nruns, GError **errp);

#endif /* VGPU_REPORT_H */
