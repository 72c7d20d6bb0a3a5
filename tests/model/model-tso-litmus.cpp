/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Checks the checker: tso.h's machine against litmus tests whose x86-TSO
 * outcomes are published, in the x86-TSO paper (Owens, Sarkar and
 * Sewell, TPHOLs 2009) and the Intel SDM, volume 3, section 8.2.3.  For
 * each test the outcome named must be reachable (allowed) or not
 * (forbidden); with store buffering, store forwarding, MFENCE and locked
 * instructions right the machine gets them all.  One more test checks
 * membarrier's modelling: store buffering with membarrier() on one side
 * and nothing on the other is forbidden.
 *
 * Faults of the machine (tso.h), each of which must make a test fail:
 *  MODEL_BUG_TSO_SC                  no store buffers: SB's and n6's
 *                                    allowed outcomes become unreachable
 *  MODEL_BUG_TSO_NO_FORWARDING       a thread does not read its own
 *                                    buffered stores
 *  MODEL_BUG_TSO_MFENCE_NO_DRAIN     MFENCE does not wait for the buffer
 *  MODEL_BUG_TSO_MEMBARRIER_NO_DRAIN membarrier's barrier does not drain
 *                                    the buffer
 */
#include "tso.h"

#include <functional>

using tso::Program;

enum { X, Y };

static const std::vector<const char *> var_names = {"x", "y"};

enum Fence { NONE, MFENCE, LOCKED, MEMBARRIER };

/* Store buffering: store own flag, (fence), load the other's flag. */
static Program sb_thread(const char *name, int mine, int other, Fence f)
{
    Program p(name);

    if (f == LOCKED) {
        p.xchg(1, mine, 1, "xchg own flag");
    } else {
        p.store(mine, 1, "store own flag");
    }
    if (f == MFENCE) {
        p.mfence("mfence");
    } else if (f == MEMBARRIER) {
        p.membarrier("membarrier()");
    }
    p.load(0, other, "load the other flag");
    p.end();
    return p;
}

static Program writes(const char *name, int a, int va, int b, int vb)
{
    Program p(name);

    p.store(a, va, "store");
    if (b >= 0) {
        p.store(b, vb, "store");
    }
    p.end();
    return p;
}

static Program reads(const char *name, int a, int b)
{
    Program p(name);

    p.load(0, a, "load");
    p.load(1, b, "load");
    p.end();
    return p;
}

/* Load buffering: load one flag, then store the other. */
static Program lb_thread(const char *name, int from, int to)
{
    Program p(name);

    p.load(0, from, "load");
    p.store(to, 1, "store");
    p.end();
    return p;
}

/* The x86-TSO paper's n6: a thread reads its own store early. */
static Program n6_writer(void)
{
    Program p("t0");

    p.store(X, 1, "x = 1");
    p.load(0, X, "r0 = x");
    p.load(1, Y, "r1 = y");
    p.end();
    return p;
}

static Program own_store(void)
{
    Program p("t0");

    p.store(X, 1, "x = 1");
    p.load(0, X, "r0 = x");
    p.end();
    return p;
}

struct Litmus {
    const char *name;
    std::vector<Program> threads;
    const char *outcome_text;
    bool allowed;
    std::function<bool(const tso::State &)> outcome;
};

static tso::Result check(const Litmus &l)
{
    tso::Machine m(l.threads, var_names);
    tso::State init;
    tso::Result r;

    memset(&init, 0, sizeof(init));
    std::printf("=== %s: exploring\n", l.name);
    r = m.explore(init);
    if (r.verdict == tso::Result::HOLDS &&
        m.can_end(l.outcome) != l.allowed) {
        r.verdict = tso::Result::VIOLATED;
        r.kind = l.allowed ? "ALLOWED OUTCOME UNREACHABLE" :
                             "FORBIDDEN OUTCOME REACHED";
    }
    if (r.verdict == tso::Result::HOLDS) {
        std::printf("=== %s: holds (%s %s, %zu states)\n", l.name,
                    l.outcome_text, l.allowed ? "reachable" : "unreachable",
                    r.states);
    } else {
        std::printf("=== %s: %s (%s)\n", l.name,
                    r.verdict == tso::Result::VIOLATED ? "VIOLATED" :
                    "MODEL ERROR", r.kind.c_str());
    }
    return r;
}

int main(void)
{
    auto both_zero = [](const tso::State &s) {
        return s.reg[0][0] == 0 && s.reg[1][0] == 0;
    };
    const Litmus tests[] = {
        {"SB",
         {sb_thread("t0", X, Y, NONE), sb_thread("t1", Y, X, NONE)},
         "r0 = r1 = 0", true, both_zero},
        {"SB+mfences",
         {sb_thread("t0", X, Y, MFENCE), sb_thread("t1", Y, X, MFENCE)},
         "r0 = r1 = 0", false, both_zero},
        {"SB+xchgs",
         {sb_thread("t0", X, Y, LOCKED), sb_thread("t1", Y, X, LOCKED)},
         "r0 = r1 = 0", false, both_zero},
        {"SB+membarrier",
         {sb_thread("t0", X, Y, MEMBARRIER), sb_thread("t1", Y, X, NONE)},
         "r0 = r1 = 0", false, both_zero},
        {"MP",
         {writes("t0", X, 1, Y, 1), reads("t1", Y, X)},
         "r0 = 1, r1 = 0", false, [](const tso::State &s) {
             return s.reg[1][0] == 1 && s.reg[1][1] == 0;
         }},
        {"LB",
         {lb_thread("t0", X, Y), lb_thread("t1", Y, X)},
         "r0 = r1 = 1", false, [](const tso::State &s) {
             return s.reg[0][0] == 1 && s.reg[1][0] == 1;
         }},
        {"IRIW",
         {writes("t0", X, 1, -1, 0), writes("t1", Y, 1, -1, 0),
          reads("t2", X, Y), reads("t3", Y, X)},
         "readers disagree on the order of x and y", false,
         [](const tso::State &s) {
             return s.reg[2][0] == 1 && s.reg[2][1] == 0 &&
                    s.reg[3][0] == 1 && s.reg[3][1] == 0;
         }},
        {"n6",
         {n6_writer(), writes("t1", Y, 2, X, 2)},
         "r0 = 1, r1 = 0, x = 1", true, [](const tso::State &s) {
             return s.reg[0][0] == 1 && s.reg[0][1] == 0 && s.mem[X] == 1;
         }},
        {"own store",
         {own_store()},
         "r0 = 0", false, [](const tso::State &s) {
             return s.reg[0][0] == 0;
         }},
    };
    tso::Tally t;

    for (const Litmus &l : tests) {
        t.add(check(l));
    }
    return t.verdict("model-tso-litmus");
}
