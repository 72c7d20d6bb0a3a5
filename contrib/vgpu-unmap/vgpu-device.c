/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "qemu/stats64.h"
#include "qemu/main-loop.h"
#include "qemu/rcu-ext.h"
#include "vgpu-device.h"

/* QEMU: struct virtio_gpu_virgl_hostmem_region. */
typedef struct VgpuHostmemRegion {
    VgpuRegion mr;
    VgpuDevice *dev;
    bool finish_unmapping;
} VgpuHostmemRegion;

typedef struct VgpuResource {
    uint64_t id;
    VgpuHostmemRegion *vmr;     /* NULL once unmapped */
} VgpuResource;

/* Everything but the stats read by other threads is under the BQL. */
struct VgpuDevice {
    VgpuMainLoop *ml;
    VgpuAddressSpace *as;
    VgpuCmdQueue cmdq;
    VgpuBH *resume_bh;
    size_t blob_size;
    bool keep_finalized;
    bool force_on_unmap;
    VgpuTracer *tracer;
    GHashTable *resources;      /* id -> VgpuResource */
    GPtrArray *graveyard;       /* finalized blobs, if keep_finalized */
    struct {
        Stat64 maps, unmaps, finalized, resumes, force_rcus;
    } stats;
};

/*
 * Step 2, in the call_rcu thread with the BQL held, while it destroys
 * the last map that contained the blob.  The command queue belongs to
 * the main loop, hence the BH.
 */
static void vgpu_hostmem_region_finalize(VgpuRegion *mr)
{
    VgpuHostmemRegion *vmr = container_of(mr, VgpuHostmemRegion, mr);
    VgpuDevice *dev = vmr->dev;
    VgpuUnmapTrace *tr = vgpu_trace_current(dev->tracer);

    if (tr) {
        vgpu_trace_stamp(&tr->finalize_ns);
    }
    vmr->finish_unmapping = true;
    stat64_add(&dev->stats.finalized, 1);
    vgpu_cmdq_unblock(&dev->cmdq);
    vgpu_bh_schedule(dev->resume_bh);
}

static void vgpu_device_resume_bh(void *opaque)
{
    VgpuDevice *dev = opaque;
    VgpuUnmapTrace *tr = vgpu_trace_current(dev->tracer);

    if (tr) {
        vgpu_trace_stamp(&tr->bh_ns);
    }
    stat64_add(&dev->stats.resumes, 1);
    vgpu_cmdq_process(&dev->cmdq);
}

static void vgpu_device_map_blob(VgpuDevice *dev, VgpuCmd *cmd)
{
    VgpuResource *res;
    VgpuHostmemRegion *vmr;

    if (g_hash_table_contains(dev->resources, &cmd->resource_id)) {
        cmd->error = -EEXIST;
        return;
    }
    res = g_new0(VgpuResource, 1);
    res->id = cmd->resource_id;
    g_hash_table_insert(dev->resources, &res->id, res);

    vmr = g_new0(VgpuHostmemRegion, 1);
    vgpu_region_init(&vmr->mr, res->id, dev->blob_size,
                     vgpu_hostmem_region_finalize);
    vmr->dev = dev;
    res->vmr = vmr;
    /* The device's own reference is the initial one. */
    cmd->result = vgpu_as_add_region(dev->as, &vmr->mr);
    stat64_add(&dev->stats.maps, 1);
}

static void vgpu_device_free_blob(VgpuDevice *dev, VgpuHostmemRegion *vmr)
{
    if (dev->keep_finalized) {
        g_ptr_array_add(dev->graveyard, vmr);
    } else {
        vgpu_region_release_host(&vmr->mr);
        g_free(vmr);
    }
}

static void vgpu_device_unmap_blob(VgpuDevice *dev, VgpuCmd *cmd,
                                   bool *suspended)
{
    VgpuResource *res = g_hash_table_lookup(dev->resources,
                                            &cmd->resource_id);
    VgpuHostmemRegion *vmr;
    VgpuUnmapTrace *tr = vgpu_trace_current(dev->tracer);

    if (!res) {
        cmd->error = -ENOENT;
        return;
    }
    vmr = res->vmr;

    if (vmr->finish_unmapping) {
        /* Step 3: the replay.  No reader can reach the blob any more. */
        res->vmr = NULL;
        vgpu_device_free_blob(dev, vmr);
        g_hash_table_remove(dev->resources, &cmd->resource_id);
        stat64_add(&dev->stats.unmaps, 1);
        return;
    }

    /* Step 1. */
    *suspended = true;
    vgpu_cmdq_block(&dev->cmdq);
    if (tr) {
        /* Before any vCPU can be kicked out of the old map. */
        qatomic_set__nocheck(&tr->new_gen, vgpu_as_next_gen(dev->as));
    }
    vgpu_as_del_region(dev->as, &vmr->mr);
    if (dev->force_on_unmap) {
        /*
         * The command queue stays blocked until the old map's grace
         * period ends; rather than let it poll for force_after_us (or
         * wait for force_callbacks callbacks), kick the readers now.
         * force_rcu() forces the grace period in progress if there is
         * one, even one that started before the call_rcu() above: the
         * machine lets the map's grace period end before it unmaps, so
         * that the request is not spent on it.
         */
        force_rcu();
        stat64_add(&dev->stats.force_rcus, 1);
    }
    vgpu_region_unref(&vmr->mr);
    if (tr) {
        vgpu_trace_stamp(&tr->step1_ns);
    }
}

static void vgpu_device_process_cmd(VgpuCmd *cmd, bool *suspended,
                                    void *opaque)
{
    VgpuDevice *dev = opaque;

    switch (cmd->type) {
    case VGPU_CMD_MAP_BLOB:
        vgpu_device_map_blob(dev, cmd);
        break;
    case VGPU_CMD_UNMAP_BLOB:
        vgpu_device_unmap_blob(dev, cmd, suspended);
        break;
    default:
        cmd->error = -EINVAL;
        break;
    }
}

void vgpu_device_submit_locked(VgpuDevice *dev, VgpuCmd *cmd)
{
    vgpu_cmdq_push(&dev->cmdq, cmd);
    vgpu_cmdq_process(&dev->cmdq);
}

VgpuDevice *vgpu_device_new(VgpuMainLoop *ml, VgpuAddressSpace *as,
                            size_t blob_size, bool keep_finalized)
{
    VgpuDevice *dev = g_new0(VgpuDevice, 1);

    dev->ml = ml;
    dev->as = as;
    dev->blob_size = blob_size;
    dev->keep_finalized = keep_finalized;
    vgpu_cmdq_init(&dev->cmdq, vgpu_device_process_cmd, dev);
    dev->resume_bh = vgpu_bh_new(ml, vgpu_device_resume_bh, dev);
    dev->resources = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                           NULL, g_free);
    dev->graveyard = g_ptr_array_new();
    return dev;
}

void vgpu_device_set_force_on_unmap(VgpuDevice *dev, bool force)
{
    dev->force_on_unmap = force;
}

void vgpu_device_set_tracer(VgpuDevice *dev, VgpuTracer *tracer)
{
    dev->tracer = tracer;
}

void vgpu_device_free(VgpuDevice *dev)
{
    bql_lock();
    assert(g_hash_table_size(dev->resources) == 0);
    assert(QTAILQ_EMPTY(&dev->cmdq.cmds) && !dev->cmdq.blocked);
    vgpu_bh_delete(dev->resume_bh);
    bql_unlock();

    for (guint i = 0; i < dev->graveyard->len; i++) {
        VgpuHostmemRegion *vmr = g_ptr_array_index(dev->graveyard, i);

        vgpu_region_release_host(&vmr->mr);
        g_free(vmr);
    }
    g_ptr_array_free(dev->graveyard, true);
    g_hash_table_destroy(dev->resources);
    g_free(dev);
}

void vgpu_device_get_stats(VgpuDevice *dev, VgpuDeviceStats *s)
{
    s->maps = stat64_get(&dev->stats.maps);
    s->unmaps = stat64_get(&dev->stats.unmaps);
    s->finalized = stat64_get(&dev->stats.finalized);
    s->resumes = stat64_get(&dev->stats.resumes);
    s->force_rcus = stat64_get(&dev->stats.force_rcus);
    bql_lock();
    s->suspends = dev->cmdq.suspends;
    s->replays = dev->cmdq.replays;
    bql_unlock();
}
