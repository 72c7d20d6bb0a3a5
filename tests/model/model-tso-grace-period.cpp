/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The grace period under x86-TSO, as util/rcu.c runs it on TSO hosts
 * (RCU_HOST_TSO: x86, s390x), explored exhaustively by tso.h.
 *
 * On those hosts synchronize_rcu() orders the caller's update before the
 * new rcu_gp_ctr with only a compiler barrier (B1: stores leave a TSO
 * store buffer in order), and wait_for_readers() uses rcu_mb_global() --
 * membarrier when another thread is online -- only before the first scan
 * and before every scan of the forced state that arms waiting; the
 * later normal-state polls and the forced passes' looks before arming
 * (rcu_wait_prescan(), and rcu_wait_kick_and_watch() after its kick)
 * re-read ctr after a compiler barrier, and the end
 * of the grace period (B4) is a compiler barrier too.  A compiler barrier
 * is program order here, so those points execute no instruction in this
 * model.  The Relacy models assume a weakly ordered host, where every
 * scan is global, so this is the only check of that shortcut
 * (docs/model-checking.md).
 *
 * Threads: a writer, offline itself as the call_rcu thread is, that
 * publishes node 1 in place of node 0, runs synchronize_rcu() and frees
 * node 0; and one reader, in one of two scenarios:
 *  - two sections: two critical sections in a row, each using the node
 *    the pointer names (model-reader-scan.cpp's reader);
 *  - offline: it starts inside a section begun before the update, still
 *    using node 0, leaves it, goes offline, comes back online, runs one
 *    more section and goes offline (model-online.cpp's reader).
 * The grace period stays in the normal state, forces from the start, or
 * polls once or twice (the second poll has no global barrier) and then
 * forces; readers and writer use membarrier or fences.  With fences (or
 * membarrier while no other thread is online) a grace period asked to
 * force from the start scans before it decides
 * (rcu_wait_decides_after_scan()), so it runs as "one poll then forced";
 * "forced" with fences is what it ran before that, kept as a check.
 * The reader's rcu_read_unlock() has no fence before it loads waiting in
 * either configuration.  With fences that store-buffering handshake is
 * open, so a forced pass that finds the reader inside scans again after
 * MFENCE (rcu_wait_recheck()) and sleeps with a timeout
 * (rcu_wait_sleep()), then runs another pass; with membarrier it sleeps
 * until woken.
 *
 * Properties: no use of node 0 after the writer freed it (a freed node
 * may be reused at once, so a use after the free instruction is a
 * violation even if the poison has not reached memory); node 1 is never
 * used before its payload is visible; the writer never sleeps on
 * rcu_gp_sleeper with nobody left to wake it (DEADLOCK); every run can
 * end (LIVELOCK otherwise).
 *
 * Faults that can be re-introduced, each of which must make the model
 * fail (tests/model/meson.build runs every one):
 *  MODEL_BUG_FIRST_SCAN_LOCAL   no global barrier before the first
 *                               normal-state scan either: the reader's
 *                               snapshot can still sit in its buffer
 *  MODEL_BUG_NO_MEMBARRIER      smp_mb_global() is a local fence while
 *                               readers rely on membarrier
 *  MODEL_BUG_FORCED_LOCAL       no global barrier before forced-state
 *                               scans either, once a scan has run: lost
 *                               wake-up with membarrier (with fences it
 *                               only costs a timeout)
 *  MODEL_BUG_FORCED_SLEEP_UNTIMED  with fences too, the forced sleep
 *                               has no timeout: the lost wake-up of the
 *                               unlock without a fence
 *  MODEL_BUG_PRESCAN_FIRST      the forced pass's look before arming
 *                               runs before the grace period's first
 *                               global barrier too
 *  MODEL_BUG_WATCH_FIRST        the forced pass's kick and watch before
 *                               arming run before the grace period's
 *                               first global barrier too
 */
#include "tso.h"

using tso::Label;
using tso::Program;

enum Var {
    GP,         /* rcu_gp_ctr */
    CTR,        /* the reader's ctr */
    WAITING,    /* the reader's waiting */
    CUR,        /* the RCU-protected pointer: 0 or 1 */
    PAYLOAD,    /* node 0's payload; node 1's is PAYLOAD + 1 */
    PAYLOAD1,
    EVENT,      /* rcu_gp_sleeper, a QemuEvent */
    ONLINE,     /* rcu_online.count; the writer is not counted */
    NVARS
};

static const std::vector<const char *> var_names = {
    "rcu_gp_ctr", "ctr", "waiting", "cur", "node[0].payload",
    "node[1].payload", "rcu_gp_sleeper", "rcu_online.count",
};

enum {
    GP_OLD = 1,         /* RCU_GP_LOCKED */
    GP_NEW = 3,         /* RCU_GP_LOCKED + RCU_GP_CTR */
    EV_FREE = 0,
    EV_SET = 1,
    /* normal_polls: the grace period never leaves the normal state. */
    NEVER_FORCE = -1,
};

/* Registers. */
enum { R_SNAP, R_NODE, R_TMP };

/* Scans of rcu_wait_recheck(), which rescans for RCU_RECHECK_NS. */
enum { RECHECK_SCANS = 2 };

struct Config {
    bool membarrier;
    int normal_polls;
    bool offline;
};

/* ---- reader ---- */

static void placeholder(Program &p, const Config &c, const char *what)
{
    if (!c.membarrier) {
        p.mfence(what);
    }
}

static void rcu_read_lock(Program &p, const Config &c)
{
    p.load(R_SNAP, GP, "rcu_read_lock(): load rcu_gp_ctr");
    p.store_reg(CTR, R_SNAP, "rcu_read_lock(): ctr = snapshot");
    placeholder(p, c, "rcu_read_lock(): smp_mb_placeholder()");
}

static void read_current(Program &p)
{
    p.load(R_NODE, CUR, "qatomic_rcu_read(&cur)");
    p.use(R_NODE, PAYLOAD, "read the node's payload");
}

static void qemu_event_set(Program &p)
{
    Label out;

    p.mfence("qemu_event_set(): smp_mb()");
    p.load(R_TMP, EVENT, "qemu_event_set(): load value");
    p.beq(R_TMP, EV_SET, out, "qemu_event_set(): already set");
    p.xchg(R_TMP, EVENT, EV_SET, "qemu_event_set(): xchg(value, SET)");
    p.bind(out);
}

/*
 * No fence before the load of waiting in either configuration; with
 * fences the writer's rcu_wait_recheck() and timed sleep make up for a
 * wake-up missed here.
 */
static void rcu_read_unlock(Program &p)
{
    Label out;

    /* A store-release is a plain store on x86. */
    p.store(CTR, 0, "rcu_read_unlock(): ctr = 0");
    p.load(R_TMP, WAITING, "rcu_read_unlock(): load waiting");
    p.beq(R_TMP, 0, out, "rcu_read_unlock(): waiting not set");
    p.store(WAITING, 0, "rcu_read_unlock_wake(): waiting = false");
    qemu_event_set(p);
    p.bind(out);
}

static void rcu_set_online(Program &p, bool online)
{
    if (online) {
        p.fetch_add(R_TMP, ONLINE, 1, "rcu_set_online(true): count++");
        p.mfence("rcu_set_online(true): smp_mb()");
    } else {
        p.fetch_add(R_TMP, ONLINE, -1, "rcu_set_online(false): count--");
    }
}

static Program reader(const Config &c)
{
    Program p("reader");

    if (c.offline) {
        /* Inside a section begun before the update, holding node 0. */
        p.use(R_NODE, PAYLOAD, "read node 0 (section begun earlier)");
        rcu_read_unlock(p);
        rcu_set_online(p, false);
        rcu_set_online(p, true);
        rcu_read_lock(p, c);
        read_current(p);
        rcu_read_unlock(p);
        rcu_set_online(p, false);
    } else {
        for (int s = 0; s < 2; s++) {
            rcu_read_lock(p, c);
            read_current(p);
            rcu_read_unlock(p);
        }
    }
    p.end();
    return p;
}

/* ---- writer ---- */

/* rcu_mb_global() in a thread that is offline itself. */
static void rcu_mb_global(Program &p, const Config &c)
{
    Label skip;

    (void)c;
    p.mfence("rcu_mb_global(): smp_mb()");
    /* A load-acquire is a plain load on x86. */
    p.load(R_TMP, ONLINE, "rcu_mb_global(): load rcu_online.count");
    p.beq(R_TMP, 0, skip, "rcu_mb_global(): nobody else online");
#ifndef MODEL_BUG_NO_MEMBARRIER
    if (c.membarrier) {
        p.membarrier("smp_mb_global(): membarrier()");
    } else {
        p.mfence("smp_mb_global(): smp_mb()");
    }
#else
    p.mfence("smp_mb_global(): smp_mb()");
#endif
    p.bind(skip);
}

/*
 * rcu_wait_prepare_scan()'s barrier:
 *   if (forced || !scanned || !RCU_HOST_TSO) rcu_mb_global(); else barrier();
 */
static void scan_barrier(Program &p, const Config &c, bool forced,
                         bool scanned)
{
    bool global = !scanned;

    (void)forced;
#ifdef MODEL_BUG_FIRST_SCAN_LOCAL
    global = false;
#endif
#ifndef MODEL_BUG_FORCED_LOCAL
    global = global || forced;
#endif
    if (global) {
        rcu_mb_global(p, c);
    }
}

/* rcu_scan(): goes to @quiescent unless the reader is ongoing. */
static void rcu_scan(Program &p, Label &quiescent)
{
    p.load(R_SNAP, CTR, "rcu_gp_ongoing(): load-acquire ctr");
    p.beq(R_SNAP, 0, quiescent, "rcu_gp_ongoing(): ctr == 0");
    p.beq(R_SNAP, GP_NEW, quiescent,
          "rcu_gp_ongoing(): ctr == rcu_gp_ctr");
}

/* rcu_wait_recheck(), forced state with fences: rescans after MFENCE. */
static void rcu_wait_recheck(Program &p, const Config &c, Label &quiescent)
{
    if (c.membarrier) {
        return;
    }
    for (int i = 0; i < RECHECK_SCANS; i++) {
        /* Pairs with the smp_mb() in a fences rcu_read_lock(). */
        p.mfence("rcu_wait_recheck(): smp_mb()");
        rcu_scan(p, quiescent);
    }
}

/* rcu_wait_sleep(), forced state: with fences, always with a timeout. */
static void rcu_wait_sleep(Program &p, const Config &c)
{
    bool timed = !c.membarrier;

#ifdef MODEL_BUG_FORCED_SLEEP_UNTIMED
    timed = false;
#endif
    if (timed) {
        p.await_timed(EVENT, EV_SET,
                      "rcu_wait_sleep(): qemu_event_timedwait_ns()");
    } else {
        p.await(EVENT, EV_SET, "rcu_wait_sleep(): qemu_event_wait()");
    }
}

/*
 * rcu_wait_prescan(): a forced pass after the first scan looks before it
 * arms, after only a compiler barrier.
 */
static void rcu_wait_prescan(Program &p, bool scanned, Label &quiescent)
{
#ifdef MODEL_BUG_PRESCAN_FIRST
    scanned = true;
#endif
    if (scanned) {
        rcu_scan(p, quiescent);
    }
}

/*
 * rcu_wait_kick_and_watch(): the first forced pass after the first scan
 * kicks (no memory effect here) and looks again, compiler barriers only,
 * before it arms.  Two looks stand for the watch loop.
 */
static void rcu_wait_kick_and_watch(Program &p, bool scanned, bool kick,
                                    Label &quiescent)
{
#ifdef MODEL_BUG_WATCH_FIRST
    scanned = true;
#endif
    if (scanned && kick) {
        rcu_scan(p, quiescent);
        rcu_scan(p, quiescent);
    }
}

/*
 * A forced pass; if the reader is still inside, sleeps and then goes to
 * @again.  @kick: the grace period has not kicked yet.
 */
static void forced_pass(Program &p, const Config &c, bool scanned,
                        bool kick, Label &quiescent, Label &again)
{
    rcu_wait_prescan(p, scanned, quiescent);
    rcu_wait_kick_and_watch(p, scanned, kick, quiescent);
    p.cmpxchg(R_TMP, EVENT, EV_SET, EV_FREE,
              "rcu_sleeper_reset(): cmpxchg(value, SET, FREE)");
    p.mfence("qemu_event_reset(): smp_mb__after_rmw()");
    p.store(WAITING, 1, "rcu_wait_prepare_scan(): waiting = true");
    scan_barrier(p, c, true, scanned);
    rcu_scan(p, quiescent);
    rcu_wait_recheck(p, c, quiescent);
    rcu_wait_sleep(p, c);
    p.jump(again, "wait_for_readers(): scan again");
}

static Program writer(const Config &c)
{
    Program p("writer");
    Label quiescent, normal_again, forced_again;

    p.store(PAYLOAD1, 1, "fill node 1");
    p.store(CUR, 1, "qatomic_rcu_set(&cur, node 1)");
    /* B1 on TSO hosts is a compiler barrier: nothing to execute. */
    p.store(GP, GP_NEW, "rcu_advance_and_wait(): rcu_gp_ctr += 2");

    /* wait_for_readers(): the normal-state polls, then the forced state. */
    if (c.normal_polls == NEVER_FORCE) {
        scan_barrier(p, c, false, false);
        rcu_scan(p, quiescent);
        p.bind(normal_again);
        scan_barrier(p, c, false, true);
        rcu_scan(p, quiescent);
        p.jump(normal_again, "rcu_poll_sleep(), poll again");
    } else {
        for (int i = 0; i < c.normal_polls; i++) {
            scan_barrier(p, c, false, i > 0);
            rcu_scan(p, quiescent);
        }
        /* The first forced pass, then the later ones after the sleep. */
        forced_pass(p, c, c.normal_polls > 0, true, quiescent, forced_again);
        p.bind(forced_again);
        forced_pass(p, c, true, false, quiescent, forced_again);
    }
    p.bind(quiescent);
    p.store(WAITING, 0, "rcu_scan(): waiting = false");
    /* B4 on TSO hosts is a compiler barrier too. */
    p.free_node(0, "free node 0 (a callback's g_free())");
    p.end();
    return p;
}

static tso::Result run(const Config &c)
{
    static const char *const states[] = {
        "forced", "one poll then forced", "two polls then forced",
    };
    std::vector<Program> threads = {writer(c), reader(c)};
    tso::State init;
    char name[96];

    memset(&init, 0, sizeof(init));
    init.mem[GP] = GP_OLD;
    init.mem[PAYLOAD] = 1;
    init.mem[ONLINE] = 1;
    if (c.offline) {
        init.mem[CTR] = GP_OLD;
        init.reg[1][R_NODE] = 0;
    }
    std::snprintf(name, sizeof(name), "%s, %s%s",
                  c.membarrier ? "membarrier" : "fence",
                  c.normal_polls == NEVER_FORCE ? "normal" :
                  states[c.normal_polls],
                  c.offline ? ", offline" : "");
    return tso::run(name, threads, var_names, init);
}

int main(void)
{
    tso::Tally t;

    for (int offline = 0; offline < 2; offline++) {
        for (int mb = 0; mb < 2; mb++) {
            for (int polls = NEVER_FORCE; polls <= 2; polls++) {
                t.add(run(Config{mb != 0, polls, offline != 0}));
            }
        }
    }
    return t.verdict("model-tso-grace-period");
}
