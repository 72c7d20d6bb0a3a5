/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The update side of the torture and soak tests; see torture-common.h.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "torture-common.h"

#define MS (1000 * 1000LL)

#define OBJ_LIVE     0x4c495645u
#define OBJ_POISON   0xdeadbeefu
#define POISON_WORD  0x5a5a5a5a5a5a5a5aULL

/* A reclaimed object stays readable (and poisoned) this long. */
#define GRAVE_NS     (1000 * MS)
/* call_rcu() callbacks in flight before the updater backs off. */
#define MAX_INFLIGHT 4000
/* A polled grace period not done by then never will be. */
#define POLL_GIVE_UP_S 30

Torture torture;

const char *const torture_sync_names[4] = {
    "synchronize_rcu()", "synchronize_rcu_expedited()",
    "cond_synchronize_rcu()", "a polled grace period",
};

void torture_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    test_verror(&torture.errors, torture.cfg.max_errors_shown,
                torture.cfg.error_prefix, fmt, ap);
    va_end(ap);
}

static TortureObj *obj_new(uint64_t seq)
{
    TortureObj *o = g_new0(TortureObj, 1);

    o->magic = OBJ_LIVE;
    o->seq = seq;
    for (int i = 0; i < TORTURE_OBJ_WORDS; i++) {
        o->payload[i] = test_payload_word(seq, i);
    }
    return o;
}

bool torture_obj_check(const TortureObj *o, const char *where)
{
    unsigned magic;
    uint64_t seq;

    if (!o) {
        torture_fail("%s: NULL object", where);
        return false;
    }
    magic = qatomic_read(&o->magic);
    seq = o->seq;               /* written once, before publication */
    if (magic != OBJ_LIVE) {
        torture_fail("%s: object %" PRIu64 " %s", where, seq,
                     magic == OBJ_POISON ?
                     "was reclaimed while a reader could still see it" :
                     "is corrupt");
        return false;
    }
    for (int i = 0; i < TORTURE_OBJ_WORDS; i++) {
        uint64_t word = o->payload[i];

        if (word != test_payload_word(seq, i)) {
            torture_fail("%s: object %" PRIu64 " payload word %d is %#"
                         PRIx64, where, seq, i, word);
            return false;
        }
    }
    return true;
}

/* Frees graveyard objects buried long ago (all of them if @all). */
static void graveyard_reap(bool all)
{
    int64_t now = test_now_ns();
    TortureObj *o;

    qemu_mutex_lock(&torture.grave_lock);
    while ((o = torture.grave_head) &&
           (all || now - o->buried_ns >= GRAVE_NS)) {
        torture.grave_head = o->grave_next;
        if (!torture.grave_head) {
            torture.grave_tail = &torture.grave_head;
        }
        if (o->magic != OBJ_POISON) {
            torture_fail("graveyard: object %" PRIu64 " lost its poison",
                         o->seq);
        }
        if (o->cb_runs != (o->via_call_rcu ? 1 : 0)) {
            torture_fail("graveyard: object %" PRIu64 " callback ran %d "
                         "times", o->seq, o->cb_runs);
        }
        torture.freed++;
        g_free(o);
    }
    qemu_mutex_unlock(&torture.grave_lock);
}

void torture_graveyard_reap(void)
{
    graveyard_reap(false);
}

/*
 * Poisons @o; it stays readable in the graveyard for GRAVE_NS.  The
 * payload is written plainly: no reader may be reading it any more.
 */
static void graveyard_bury(TortureObj *o)
{
    qatomic_set(&o->magic, OBJ_POISON);
    for (int i = 0; i < TORTURE_OBJ_WORDS; i++) {
        o->payload[i] = POISON_WORD;
    }
    o->buried_ns = test_now_ns();
    o->grave_next = NULL;
    qemu_mutex_lock(&torture.grave_lock);
    *torture.grave_tail = o;
    torture.grave_tail = &o->grave_next;
    torture.buried++;
    qemu_mutex_unlock(&torture.grave_lock);
}

/* Publishes a new object in @slot and returns the old one. */
static TortureObj *replace_obj(unsigned slot)
{
    TortureObj *old, *new;

    qemu_mutex_lock(&torture.update_lock);
    old = torture.table[slot];
    new = obj_new(++torture.next_seq);
    /* Pairs with the readers' qatomic_rcu_read(). */
    qatomic_rcu_set(&torture.table[slot], new);
    qemu_mutex_unlock(&torture.update_lock);
    return old;
}

static TortureObj *replace_random(GRand *rng)
{
    if (torture.cfg.before_update) {
        torture.cfg.before_update();
    }
    return replace_obj(g_rand_int_range(rng, 0, torture.cfg.slots));
}

static void pause_sometimes(GRand *rng, int max_us)
{
    if (g_rand_int_range(rng, 0, torture.cfg.pause_one_in) == 0) {
        g_usleep(g_rand_int_range(rng, torture.cfg.min_pause_us, max_us));
    }
}

void torture_init(const TortureConfig *cfg)
{
    memset(&torture, 0, sizeof(torture));
    torture.cfg = *cfg;
    torture.cfg.slots = CLAMP(cfg->slots, 1, TORTURE_SLOTS_MAX);
    torture.cfg.pause_one_in = MAX(cfg->pause_one_in, 1);
    torture.cfg.min_pause_us = MAX(cfg->min_pause_us, 1);
    qemu_mutex_init(&torture.update_lock);
    qemu_mutex_init(&torture.grave_lock);
    torture.grave_tail = &torture.grave_head;
    for (unsigned i = 0; i < torture.cfg.slots; i++) {
        torture.table[i] = obj_new(++torture.next_seq);
    }
}

void torture_finish(void)
{
    /* No reader is left, so nothing can reach these any more. */
    graveyard_reap(true);
    if (torture.freed != torture.buried) {
        torture_fail("graveyard: %lu buried, %lu freed", torture.buried,
                     torture.freed);
    }
    for (unsigned i = 0; i < torture.cfg.slots; i++) {
        g_free(torture.table[i]);
        torture.table[i] = NULL;
    }
    qemu_mutex_destroy(&torture.update_lock);
    qemu_mutex_destroy(&torture.grave_lock);
}

/*
 * The call_rcu() updater.
 */
static void obj_reclaim_cb(TortureObj *o)
{
    if (qatomic_fetch_inc(&o->cb_runs) != 0) {
        torture_fail("callback for object %" PRIu64 " ran again", o->seq);
        return;
    }
    if (!bql_locked()) {
        torture_fail("callback for object %" PRIu64 " ran without the BQL",
                     o->seq);
    }
    /* Only the call_rcu thread touches expected_ticket. */
    if (o->cb_ticket != torture.expected_ticket) {
        torture_fail("callback %" PRIu64 " ran when %" PRIu64 " was due",
                     o->cb_ticket, torture.expected_ticket);
    }
    torture.expected_ticket = o->cb_ticket + 1;
    if (torture.cfg.check_reclaimed) {
        torture.cfg.check_reclaimed(o, "callback");
    }
    graveyard_bury(o);
    qatomic_inc(&torture.run);
}

void *torture_call_rcu_updater(void *opaque)
{
    GRand *rng = opaque;

    rcu_register_thread();
    while (!qatomic_read(&torture.stop)) {
        /*
         * Bursts of varied size and gaps, so that grace periods see both
         * a few callbacks (normal state) and many (forced).
         */
        int burst = g_rand_int_range(rng, 1, 64);

        for (int i = 0; i < burst; i++) {
            TortureObj *old = replace_random(rng);

            old->via_call_rcu = true;
            old->cb_ticket = torture.next_ticket++;
            qatomic_inc(&torture.queued);
            call_rcu(old, obj_reclaim_cb, rcu);
            qatomic_inc(&torture.cb_updates);
        }
        while (qatomic_read(&torture.queued) - qatomic_read(&torture.run) >
               MAX_INFLIGHT && !qatomic_read(&torture.stop)) {
            g_usleep(500);
        }
        pause_sometimes(rng, 3000);
        graveyard_reap(false);
    }
    rcu_unregister_thread();
    return NULL;
}

/*
 * start_poll_synchronize_rcu() must get a grace period going by itself;
 * if none completes within a generous bound, that is the bug.
 */
static bool poll_until(unsigned long cookie)
{
    int64_t give_up = test_now_ns() + POLL_GIVE_UP_S * 1000 * MS;

    while (!poll_state_synchronize_rcu(cookie)) {
        if (test_now_ns() > give_up) {
            return false;
        }
        g_usleep(100);
    }
    return true;
}

/*
 * The synchronous updater: replace, wait for a grace period in one of
 * four ways, poison at once.
 */
void *torture_sync_updater(void *opaque)
{
    GRand *rng = opaque;

    rcu_register_thread();
    while (!qatomic_read(&torture.stop)) {
        int how = g_rand_int_range(rng, 0, 4);
        TortureObj *old = replace_random(rng);
        /* Every way of waiting must also complete this cookie. */
        unsigned long replaced = get_state_synchronize_rcu();
        unsigned long cookie;

        switch (how) {
        case 0:
            synchronize_rcu();
            break;
        case 1:
            synchronize_rcu_expedited();
            break;
        case 2:
            cookie = get_state_synchronize_rcu();
            if (g_rand_boolean(rng)) {
                g_usleep(g_rand_int_range(rng, 1, 2000));
            }
            cond_synchronize_rcu(cookie);
            break;
        default:
            cookie = start_poll_synchronize_rcu();
            if (!poll_until(cookie)) {
                torture_fail("polled grace period not done after %d s",
                             POLL_GIVE_UP_S);
                synchronize_rcu();
            }
            break;
        }
        if (!poll_state_synchronize_rcu(replaced)) {
            torture_fail("%s returned before a grace period that began "
                         "after object %" PRIu64 " was replaced",
                         torture_sync_names[how], old->seq);
        }
        if (torture.cfg.check_reclaimed) {
            torture.cfg.check_reclaimed(old, "grace period");
        }
        graveyard_bury(old);
        qatomic_inc(&torture.sync_updates[how]);
        pause_sometimes(rng, 2000);
        graveyard_reap(false);
    }
    rcu_unregister_thread();
    return NULL;
}
