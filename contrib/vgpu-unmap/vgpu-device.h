/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * A virtio-gpu-like device with host-memory blobs, following the
 * three-step asynchronous unmap of QEMU's virtio-gpu-virgl:
 *
 *  1. UNMAP_BLOB removes the blob's region from the address space,
 *     drops the device's reference and suspends itself, blocking the
 *     command queue (memory_region_del_subregion(), object_unparent(),
 *     renderer_blocked++).  With force_on_unmap it also calls
 *     force_rcu(), so that the grace period it now waits for enters the
 *     forced state at once.
 *  2. After a grace period the call_rcu thread destroys the old map,
 *     which drops the last reference; the region's finalizer marks the
 *     unmap finished, unblocks the queue and schedules the resume BH
 *     (virtio_gpu_virgl_hostmem_region_finalize()).
 *  3. The BH, on the main loop, processes the queue again: the replayed
 *     UNMAP_BLOB sees the finished flag and frees the blob.
 */
#ifndef VGPU_DEVICE_H
#define VGPU_DEVICE_H

#include "vgpu-cmdq.h"
#include "vgpu-loop.h"
#include "vgpu-memory.h"
#include "vgpu-trace.h"

typedef struct VgpuDevice VgpuDevice;

typedef struct VgpuDeviceStats {
    uint64_t maps;
    uint64_t unmaps;            /* completed, after the replay */
    uint64_t finalized;         /* blob finalizers run */
    uint64_t resumes;           /* resume BHs run */
    uint64_t suspends;
    uint64_t replays;
    uint64_t force_rcus;        /* force_rcu() calls by UNMAP_BLOB */
} VgpuDeviceStats;

/*
 * @keep_finalized keeps finalized blobs, poisoned, until the device is
 * freed, so a reader that wrongly still sees one reads poison rather
 * than freed memory.  QEMU frees them at step 3.
 */
VgpuDevice *vgpu_device_new(VgpuMainLoop *ml, VgpuAddressSpace *as,
                            size_t blob_size, bool keep_finalized);
/* Before the first command: UNMAP_BLOB calls force_rcu() after step 1. */
void vgpu_device_set_force_on_unmap(VgpuDevice *dev, bool force);
/* Before the first command: stamp unmap traces (vgpu-trace.h). */
void vgpu_device_set_tracer(VgpuDevice *dev, VgpuTracer *tracer);

/* After every blob is unmapped and the address space destroyed. */
void vgpu_device_free(VgpuDevice *dev);

/* Queues @cmd and processes the queue; the caller holds the BQL. */
void vgpu_device_submit_locked(VgpuDevice *dev, VgpuCmd *cmd);

void vgpu_device_get_stats(VgpuDevice *dev, VgpuDeviceStats *stats);

#endif /* VGPU_DEVICE_H */
