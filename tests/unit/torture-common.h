/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The update side shared by the torture test (test-rcu-torture.c) and
 * the soak test (tests/soak/soak.c): a table of RCU-protected pointers to
 * test objects, a graveyard that poisons each reclaimed object and frees
 * it only much later (so that a reader that still uses it finds poison
 * instead of crashing), and two updater threads.  One reclaims the
 * objects it replaces with call_rcu() and checks that the callbacks run
 * once each, under the BQL and in queueing order; the other waits for a
 * grace period itself (synchronize_rcu(), the expedited variant,
 * cond_synchronize_rcu() or the polled API) and checks that the wait
 * also completed a cookie taken after the replacement.  Each program
 * brings its own readers.
 */
#ifndef QEMU_RCU_TORTURE_COMMON_H
#define QEMU_RCU_TORTURE_COMMON_H

#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"

#define TORTURE_OBJ_WORDS 8
#define TORTURE_SLOTS_MAX 8

typedef struct TortureObj {
    struct rcu_head rcu;        /* first, for call_rcu() */
    unsigned magic;
    int cb_runs;
    bool via_call_rcu;
    uint64_t seq;
    uint64_t cb_ticket;         /* queueing order of its callback */
    int64_t buried_ns;
    struct TortureObj *grave_next;
    uint64_t payload[TORTURE_OBJ_WORDS];
} TortureObj;

typedef struct TortureConfig {
    const char *error_prefix;   /* each error is printed after it */
    long max_errors_shown;      /* the rest are only counted */
    unsigned slots;             /* RCU-protected pointers, 1..SLOTS_MAX */
    /* An updater pauses after one round in pause_one_in, for at least: */
    int pause_one_in;
    int min_pause_us;
    /* Optional: called before each update (the soak's quiet windows). */
    void (*before_update)(void);
    /*
     * Optional: called once the grace period that protects @o is over,
     * by its callback or by the synchronous updater (@who says which).
     */
    void (*check_reclaimed)(const TortureObj *o, const char *who);
} TortureConfig;

typedef struct Torture {
    TortureConfig cfg;
    TortureObj *table[TORTURE_SLOTS_MAX];   /* the protected pointers */
    QemuMutex update_lock;                  /* serialises replacements */
    uint64_t next_seq;

    bool stop;                  /* tells every thread to finish */
    long errors;

    /*
     * Counters updated with atomics are unsigned long, which every host
     * can update atomically (the unit suite runs on 32-bit hosts too).
     */

    /* The call_rcu() updater. */
    unsigned long cb_updates;
    unsigned long queued;
    unsigned long run;
    uint64_t next_ticket;       /* written by the updater only */
    uint64_t expected_ticket;   /* written by the call_rcu thread only */

    /* The synchronous updater, by torture_sync_names[]. */
    unsigned long sync_updates[4];

    QemuMutex grave_lock;
    TortureObj *grave_head;
    TortureObj **grave_tail;
    unsigned long buried;
    unsigned long freed;
} Torture;

extern Torture torture;
extern const char *const torture_sync_names[4];

/* Fills the table with fresh objects. */
void torture_init(const TortureConfig *cfg);
/*
 * Once every thread is joined and the callbacks drained: frees the
 * graveyard (an error if an object lost its poison or its callback did
 * not run exactly once) and the table.
 */
void torture_finish(void);

/* Counts an error and prints the first max_errors_shown of them. */
void G_GNUC_PRINTF(1, 2) torture_fail(const char *fmt, ...);

/*
 * Checks an object a reader reached; false (and an error naming
 * @where) if it is NULL, reclaimed or corrupt.
 */
bool torture_obj_check(const TortureObj *o, const char *where);

/* Frees the objects buried more than a second ago. */
void torture_graveyard_reap(void);

/* Thread functions; @opaque is a GRand owned by the caller. */
void *torture_call_rcu_updater(void *opaque);
void *torture_sync_updater(void *opaque);

#endif /* QEMU_RCU_TORTURE_COMMON_H */
