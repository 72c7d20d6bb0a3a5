/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * An RCU-protected memory map, modelled on QEMU's MemoryRegion,
 * FlatView and AddressSpace.
 *
 * A VgpuRegion is a refcounted piece of host memory.  Every flat view
 * that maps it holds a reference, so after the region is removed from
 * the address space it lives on until the call_rcu thread destroys the
 * last view that still contains it; that drops the last reference and
 * runs the finalizer (QEMU: flatview_destroy() -> memory_region_unref()
 * -> object finalize).  Finalizing poisons the region, so a reader that
 * could still see it after its grace period would notice.
 *
 * Map changes need the BQL; readers only need rcu_read_lock().
 */
#ifndef VGPU_MEMORY_H
#define VGPU_MEMORY_H

#include "qemu/rcu.h"

#define VGPU_REGION_MAGIC   0x56475055u     /* "VGPU" */
#define VGPU_REGION_POISON  0x6b6b6b6bu
#define VGPU_POISON_BYTE    0x6b

/* Readers sample one byte per page, like a TLB fill touching each page. */
#define VGPU_PAGE_SIZE      4096

typedef struct VgpuRegion VgpuRegion;
typedef struct VgpuAddressSpace VgpuAddressSpace;

/* Runs in the thread that drops the last reference, with the BQL held. */
typedef void VgpuRegionFinalize(VgpuRegion *r);

struct VgpuRegion {
    uint32_t magic;             /* VGPU_REGION_MAGIC until finalized */
    unsigned refcnt;
    uint64_t id;
    uint8_t fill;               /* every byte of host memory, never poison */
    uint8_t *host;
    size_t size;
    unsigned finalize_count;    /* must never exceed 1 */
    VgpuAddressSpace *as;       /* where it was mapped, for the checks */
    VgpuRegionFinalize *finalize;
};

typedef struct VgpuFlatView {
    struct rcu_head rcu;        /* first, for call_rcu() */
    uint64_t gen;               /* increases with every published view */
    unsigned nr;
    VgpuRegion *regions[];
} VgpuFlatView;

struct VgpuAddressSpace {
    VgpuFlatView *current_map;  /* RCU-protected; written under the BQL */
    uint64_t next_gen;
    /*
     * Slots in which readers publish the view they are walking (NULL
     * outside their critical sections).  The finalizer checks them: no
     * reader may still hold a view containing a finalized region.
     */
    GPtrArray *users;
    uint64_t finalized;
    uint64_t finalize_errors;   /* finalized twice, or while still visible */
};

void vgpu_region_init(VgpuRegion *r, uint64_t id, size_t size,
                      VgpuRegionFinalize *finalize);
/* Frees the host memory of a region that has been finalized. */
void vgpu_region_release_host(VgpuRegion *r);
void vgpu_region_ref(VgpuRegion *r);
void vgpu_region_unref(VgpuRegion *r);

/*
 * Touches every page of a region, as a vCPU access would.  Returns false
 * if the region is poisoned, i.e. was finalized while the caller could
 * still see it.  Call it inside a read-side critical section.
 */
bool vgpu_region_access(const VgpuRegion *r, uint64_t *sum);

void vgpu_as_init(VgpuAddressSpace *as);
/* Unmaps everything and waits until the old views are gone. */
void vgpu_as_destroy(VgpuAddressSpace *as);

/* Both need the BQL; they return the generation of the new view. */
uint64_t vgpu_as_add_region(VgpuAddressSpace *as, VgpuRegion *r);
uint64_t vgpu_as_del_region(VgpuAddressSpace *as, VgpuRegion *r);

/* The generation the next published view will get; needs the BQL. */
uint64_t vgpu_as_next_gen(VgpuAddressSpace *as);

/* Only before readers start. */
void vgpu_as_add_user(VgpuAddressSpace *as, VgpuFlatView **slot);

static inline VgpuFlatView *vgpu_as_get_map(VgpuAddressSpace *as)
{
    return qatomic_rcu_read(&as->current_map);
}

bool vgpu_flatview_contains(const VgpuFlatView *view, const VgpuRegion *r);

#endif /* VGPU_MEMORY_H */
