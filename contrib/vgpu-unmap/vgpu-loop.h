/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * A main loop thread with bottom halves, modelled on QEMU's.
 *
 * A bottom half (BH) can be scheduled from any thread, in any context
 * (under the BQL, from an RCU callback, from a signal-free helper
 * thread); it then runs once on the main loop thread with the BQL held.
 * Scheduling an already pending BH does nothing, as qemu_bh_schedule().
 */
#ifndef VGPU_LOOP_H
#define VGPU_LOOP_H

#include "qemu/thread.h"

typedef struct VgpuMainLoop VgpuMainLoop;
typedef struct VgpuBH VgpuBH;
typedef void VgpuBHFunc(void *opaque);

/* Starts the "main-loop" thread. */
VgpuMainLoop *vgpu_main_loop_new(void);

/* Runs the BHs that are still pending, then stops and joins the thread. */
void vgpu_main_loop_free(VgpuMainLoop *ml);

/* True when called from the main loop thread. */
bool vgpu_main_loop_is_self(VgpuMainLoop *ml);

/* BHs run so far. */
uint64_t vgpu_main_loop_bh_runs(VgpuMainLoop *ml);

VgpuBH *vgpu_bh_new(VgpuMainLoop *ml, VgpuBHFunc *cb, void *opaque);

/* Never blocks on anything but a leaf lock, so any thread may call it. */
void vgpu_bh_schedule(VgpuBH *bh);

/*
 * Cancels a pending run and frees the BH.  Needs the BQL, which the main
 * loop holds while it runs BHs, so the BH cannot be running meanwhile.
 */
void vgpu_bh_delete(VgpuBH *bh);

#endif /* VGPU_LOOP_H */
