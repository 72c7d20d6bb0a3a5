/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Regions, flat views and the address space.  Views are immutable once
 * published: a map change builds a new view, publishes it and hands the
 * old one to call_rcu(), as address_space_set_flatview() does.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "vgpu-memory.h"

void vgpu_region_init(VgpuRegion *r, uint64_t id, size_t size,
                      VgpuRegionFinalize *finalize)
{
    memset(r, 0, sizeof(*r));
    r->magic = VGPU_REGION_MAGIC;
    r->refcnt = 1;
    r->id = id;
    /* Any byte but 0 and the poison, so stale memory is recognisable. */
    r->fill = 1 + id % 250;
    if (r->fill >= VGPU_POISON_BYTE) {
        r->fill++;
    }
    r->size = MAX(size, 1);
    r->host = g_malloc(r->size);
    memset(r->host, r->fill, r->size);
    r->finalize = finalize;
}

void vgpu_region_release_host(VgpuRegion *r)
{
    assert(r->finalize_count == 1);
    g_free(r->host);
    r->host = NULL;
}

void vgpu_region_ref(VgpuRegion *r)
{
    unsigned old = qatomic_fetch_inc(&r->refcnt);

    assert(old > 0);
}

static bool vgpu_as_region_in_use(VgpuAddressSpace *as, VgpuRegion *r)
{
    for (guint i = 0; i < as->users->len; i++) {
        VgpuFlatView **slot = g_ptr_array_index(as->users, i);
        VgpuFlatView *view = qatomic_read(slot);

        if (view && vgpu_flatview_contains(view, r)) {
            return true;
        }
    }
    return false;
}

static void vgpu_region_finalize(VgpuRegion *r)
{
    VgpuAddressSpace *as = r->as;

    assert(bql_locked());
    if (++r->finalize_count != 1) {
        fprintf(stderr, "vgpu: region %" PRIu64 " finalized %u times\n",
                r->id, r->finalize_count);
        if (as) {
            as->finalize_errors++;
        }
        return;
    }
    if (as) {
        as->finalized++;
        if (vgpu_as_region_in_use(as, r)) {
            fprintf(stderr, "vgpu: region %" PRIu64 " finalized while a "
                    "reader can still see it\n", r->id);
            as->finalize_errors++;
        }
    }

    qatomic_set(&r->magic, VGPU_REGION_POISON);
    memset(r->host, VGPU_POISON_BYTE, r->size);
    if (r->finalize) {
        r->finalize(r);
    }
}

void vgpu_region_unref(VgpuRegion *r)
{
    unsigned old = qatomic_fetch_dec(&r->refcnt);

    assert(old > 0);
    if (old == 1) {
        vgpu_region_finalize(r);
    }
}

bool vgpu_region_access(const VgpuRegion *r, uint64_t *sum)
{
    const uint8_t *host;
    size_t off;

    if (qatomic_read(&r->magic) != VGPU_REGION_MAGIC) {
        return false;
    }
    host = r->host;
    for (off = 0; off < r->size; off += VGPU_PAGE_SIZE) {
        uint8_t b = qatomic_read(&host[off]);

        if (b != r->fill) {
            return false;
        }
        *sum += b;
    }
    return true;
}

bool vgpu_flatview_contains(const VgpuFlatView *view, const VgpuRegion *r)
{
    for (unsigned i = 0; i < view->nr; i++) {
        if (view->regions[i] == r) {
            return true;
        }
    }
    return false;
}

static VgpuFlatView *vgpu_flatview_new(VgpuAddressSpace *as, unsigned nr)
{
    VgpuFlatView *view = g_malloc0(sizeof(*view) + nr * sizeof(VgpuRegion *));

    view->gen = ++as->next_gen;
    view->nr = nr;
    return view;
}

/* The call_rcu callback: no reader can reach the view any more. */
static void vgpu_flatview_destroy(VgpuFlatView *view)
{
    for (unsigned i = 0; i < view->nr; i++) {
        vgpu_region_unref(view->regions[i]);
    }
    g_free(view);
}

static uint64_t vgpu_as_publish(VgpuAddressSpace *as, VgpuFlatView *view)
{
    VgpuFlatView *old = as->current_map;

    for (unsigned i = 0; i < view->nr; i++) {
        vgpu_region_ref(view->regions[i]);
    }
    /*
     * The view's contents are complete before readers can load the
     * pointer; pairs with qatomic_rcu_read() in vgpu_as_get_map().
     */
    qatomic_rcu_set(&as->current_map, view);
    if (old) {
        call_rcu(old, vgpu_flatview_destroy, rcu);
    }
    return view->gen;
}

uint64_t vgpu_as_add_region(VgpuAddressSpace *as, VgpuRegion *r)
{
    VgpuFlatView *old = as->current_map;
    VgpuFlatView *view = vgpu_flatview_new(as, old->nr + 1);

    assert(bql_locked());
    assert(!vgpu_flatview_contains(old, r));
    memcpy(view->regions, old->regions, old->nr * sizeof(VgpuRegion *));
    view->regions[old->nr] = r;
    r->as = as;
    return vgpu_as_publish(as, view);
}

uint64_t vgpu_as_del_region(VgpuAddressSpace *as, VgpuRegion *r)
{
    VgpuFlatView *old = as->current_map;
    VgpuFlatView *view = vgpu_flatview_new(as, old->nr - 1);
    unsigned j = 0;

    assert(bql_locked());
    assert(vgpu_flatview_contains(old, r));
    for (unsigned i = 0; i < old->nr; i++) {
        if (old->regions[i] != r) {
            view->regions[j++] = old->regions[i];
        }
    }
    return vgpu_as_publish(as, view);
}

uint64_t vgpu_as_next_gen(VgpuAddressSpace *as)
{
    assert(bql_locked());
    return as->next_gen + 1;
}

void vgpu_as_add_user(VgpuAddressSpace *as, VgpuFlatView **slot)
{
    g_ptr_array_add(as->users, slot);
}

void vgpu_as_init(VgpuAddressSpace *as)
{
    memset(as, 0, sizeof(*as));
    as->users = g_ptr_array_new();
    as->current_map = vgpu_flatview_new(as, 0);
}

void vgpu_as_destroy(VgpuAddressSpace *as)
{
    VgpuFlatView *old;

    bql_lock();
    old = as->current_map;
    qatomic_rcu_set(&as->current_map, NULL);
    call_rcu(old, vgpu_flatview_destroy, rcu);
    /* Drops the BQL while it waits; callbacks need it. */
    drain_call_rcu();
    bql_unlock();
    g_ptr_array_free(as->users, true);
}
