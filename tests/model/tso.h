/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * An exhaustive explorer of small programs under x86-TSO, the memory
 * model of Owens, Sarkar and Sewell, "A Better x86 Memory Model:
 * x86-TSO" (TPHOLs 2009), for the parts of util/rcu.c that rely on TSO
 * (RCU_HOST_TSO) and that Relacy, which only knows the C++11 model,
 * cannot check (docs/model-checking.md).
 *
 * The machine: shared memory and one FIFO store buffer per thread.  A
 * store goes into the thread's buffer; a load reads the newest store to
 * its location in the thread's own buffer, else memory; any buffer may
 * write its oldest store to memory at any time.  MFENCE and locked
 * read-modify-writes wait until the thread's buffer is empty, and a
 * locked operation reads and writes memory in one step.  Every
 * interleaving of instructions and buffer flushes is explored,
 * breadth-first, with every distinct state visited once, so the
 * counterexample printed is a shortest one.
 *
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): the caller drains its
 * buffer and asks every other thread for a barrier; each thread takes
 * it at a point of its program the explorer chooses (its buffer drained,
 * as by the interrupt's full barrier), finished threads included, as a
 * thread that is not running passes through the scheduler; the call
 * returns once every thread has.
 *
 * Faults of the machine itself, for model-tso-litmus.cpp's checks of the
 * checker: MODEL_BUG_TSO_SC (no store buffers: sequential consistency),
 * MODEL_BUG_TSO_NO_FORWARDING (a load does not see its own thread's
 * buffered stores), MODEL_BUG_TSO_MFENCE_NO_DRAIN (MFENCE does not wait
 * for the buffer) and MODEL_BUG_TSO_MEMBARRIER_NO_DRAIN (membarrier's
 * barrier does not drain the buffer).
 *
 * A wait blocks until a location reads a value (a futex wait); a timed
 * wait never blocks: whether woken or timed out, its thread goes on to
 * the same next instruction, and the explorer already tries every
 * number of steps the other threads may take before that.
 *
 * Properties: a thread's use of a node that was freed (USE AFTER FREE)
 * or whose payload it cannot see yet (UNINITIALISED READ); a state where
 * no thread can move but some have not finished (DEADLOCK, e.g. a
 * sleeper nobody wakes); and, once every state is known, a state from
 * which the end cannot be reached any more (LIVELOCK).  A run that
 * loops forever is no livelock as long as it can still leave the loop:
 * a timed wait that times out again and again while a store stays in
 * its buffer is one choice of the scheduler, not a state without end.
 */
#ifndef TESTS_MODEL_TSO_H
#define TESTS_MODEL_TSO_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace tso {

enum {
    MAX_THREADS = 4,
    MAX_VARS = 16,
    MAX_REGS = 4,
    MAX_BUF = 6,
    /* Beyond this the model is too big: a model error, not a verdict. */
    MAX_STATES = 8000000,
};

enum Op {
    OP_LOAD,        /* reg = var */
    OP_STORE,       /* var = imm, into the store buffer */
    OP_STORE_REG,   /* var = reg, into the store buffer */
    OP_MFENCE,      /* waits until the buffer is empty */
    OP_XCHG,        /* locked: reg = var; var = imm */
    OP_CMPXCHG,     /* locked: reg = var; if reg == imm: var = imm2 */
    OP_FETCH_ADD,   /* locked: reg = var; var += imm */
    OP_BEQ,         /* if reg == imm: goto target */
    OP_BNE,         /* if reg != imm: goto target */
    OP_JUMP,        /* goto target */
    OP_AWAIT,       /* blocks until var reads imm (a futex wait) */
    OP_AWAIT_TIMED, /* the same with a timeout: never blocks */
    OP_MB_REQUEST,  /* membarrier(): buffer empty, ask the others */
    OP_MB_WAIT,     /* membarrier(): every other thread took its barrier */
    OP_USE,         /* reads node[reg]'s payload (var + reg), checks it */
    OP_FREE,        /* node[imm] is freed and may be reused at once */
    OP_END,
};

struct Insn {
    Op op;
    int var;
    int reg;
    int imm;
    int imm2;
    int target;
    const char *what;   /* the line of util/rcu.c it stands for */
};

/* A branch target that may be bound after the branches to it. */
struct Label {
    int pos = -1;
    std::vector<int> uses;
};

/* One thread's program, written with the methods below. */
class Program {
public:
    std::string name;
    std::vector<Insn> code;

    explicit Program(const char *n) : name(n)
    {
    }

    void load(int reg, int var, const char *what)
    {
        emit(OP_LOAD, var, reg, 0, 0, what);
    }
    void store(int var, int imm, const char *what)
    {
        emit(OP_STORE, var, 0, imm, 0, what);
    }
    void store_reg(int var, int reg, const char *what)
    {
        emit(OP_STORE_REG, var, reg, 0, 0, what);
    }
    void mfence(const char *what)
    {
        emit(OP_MFENCE, 0, 0, 0, 0, what);
    }
    void xchg(int reg, int var, int imm, const char *what)
    {
        emit(OP_XCHG, var, reg, imm, 0, what);
    }
    void cmpxchg(int reg, int var, int expect, int val, const char *what)
    {
        emit(OP_CMPXCHG, var, reg, expect, val, what);
    }
    void fetch_add(int reg, int var, int imm, const char *what)
    {
        emit(OP_FETCH_ADD, var, reg, imm, 0, what);
    }
    void await(int var, int imm, const char *what)
    {
        emit(OP_AWAIT, var, 0, imm, 0, what);
    }
    void await_timed(int var, int imm, const char *what)
    {
        emit(OP_AWAIT_TIMED, var, 0, imm, 0, what);
    }
    void membarrier(const char *what)
    {
        emit(OP_MB_REQUEST, 0, 0, 0, 0, what);
        emit(OP_MB_WAIT, 0, 0, 0, 0, what);
    }
    void use(int reg, int payload_base, const char *what)
    {
        emit(OP_USE, payload_base, reg, 0, 0, what);
    }
    void free_node(int node, const char *what)
    {
        emit(OP_FREE, 0, 0, node, 0, what);
    }
    void end(void)
    {
        emit(OP_END, 0, 0, 0, 0, "end");
    }
    void beq(int reg, int imm, Label &l, const char *what)
    {
        branch(OP_BEQ, reg, imm, l, what);
    }
    void bne(int reg, int imm, Label &l, const char *what)
    {
        branch(OP_BNE, reg, imm, l, what);
    }
    void jump(Label &l, const char *what)
    {
        branch(OP_JUMP, 0, 0, l, what);
    }
    void bind(Label &l)
    {
        l.pos = (int)code.size();
        for (int at : l.uses) {
            code[at].target = l.pos;
        }
    }

private:
    void emit(Op op, int var, int reg, int imm, int imm2, const char *what)
    {
        code.push_back(Insn{op, var, reg, imm, imm2, -1, what});
    }
    void branch(Op op, int reg, int imm, Label &l, const char *what)
    {
        if (l.pos < 0) {
            l.uses.push_back((int)code.size());
        }
        emit(op, 0, reg, imm, 0, what);
        code.back().target = l.pos;
    }
};

/* Everything that distinguishes two states; bytes only, so no padding. */
struct State {
    uint8_t mem[MAX_VARS];
    uint8_t pc[MAX_THREADS];
    uint8_t reg[MAX_THREADS][MAX_REGS];
    uint8_t nbuf[MAX_THREADS];
    uint8_t buf_var[MAX_THREADS][MAX_BUF];
    uint8_t buf_val[MAX_THREADS][MAX_BUF];
    uint8_t barrier_owed;   /* threads that owe membarrier a barrier */
    uint8_t freed;          /* nodes freed so far */
};

/* A transition: a thread executes, flushes, or takes membarrier's IPI. */
enum MoveKind { MOVE_STEP, MOVE_FLUSH, MOVE_BARRIER };

struct Move {
    uint8_t thread;
    uint8_t kind;
};

struct Result {
    enum { HOLDS, VIOLATED, MODEL_ERROR } verdict;
    std::string kind;       /* the violation, or the model error */
    size_t states;
    size_t transitions;
};

class Machine {
public:
    Machine(const std::vector<Program> &threads,
            const std::vector<const char *> &var_names)
        : progs(threads), vars(var_names)
    {
    }

    /* Explores every state reachable from @init; prints a counterexample. */
    Result explore(const State &init);

    /* After explore(): is some end state of every thread like @want? */
    template<typename Pred>
    bool can_end(Pred want) const
    {
        for (const State &s : states) {
            if (final_state(s) && want(s)) {
                return true;
            }
        }
        return false;
    }

private:
    const std::vector<Program> &progs;
    const std::vector<const char *> &vars;
    std::vector<State> states;
    std::vector<uint32_t> parent;
    std::vector<Move> via;
    std::vector<uint32_t> table;    /* open addressing: index + 1, 0 free */
    std::vector<uint32_t> edge_from, edge_to;
    std::string error;

    static uint64_t hash(const State &s)
    {
        const uint8_t *p = (const uint8_t *)&s;
        uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a */

        for (size_t i = 0; i < sizeof(s); i++) {
            h = (h ^ p[i]) * 0x100000001b3ULL;
        }
        return h;
    }

    /* Index of @s, adding it (with where it came from) if new. */
    uint32_t intern(const State &s, uint32_t from, Move m, bool *added)
    {
        size_t mask = table.size() - 1;

        if (states.size() * 2 >= table.size()) {
            grow();
            mask = table.size() - 1;
        }
        for (size_t i = hash(s) & mask;; i = (i + 1) & mask) {
            if (!table[i]) {
                table[i] = (uint32_t)states.size() + 1;
                states.push_back(s);
                parent.push_back(from);
                via.push_back(m);
                *added = true;
                return (uint32_t)states.size() - 1;
            }
            if (!memcmp(&states[table[i] - 1], &s, sizeof(s))) {
                *added = false;
                return table[i] - 1;
            }
        }
    }

    void grow(void)
    {
        std::vector<uint32_t> old(table.size() * 2, 0);

        table.swap(old);
        for (size_t k = 0; k < states.size(); k++) {
            size_t mask = table.size() - 1;
            size_t i = hash(states[k]) & mask;

            while (table[i]) {
                i = (i + 1) & mask;
            }
            table[i] = (uint32_t)k + 1;
        }
    }

    /* What thread @t reads at @var: its newest buffered store, or memory. */
    static int visible(const State &s, int t, int var)
    {
#ifdef MODEL_BUG_TSO_NO_FORWARDING
        return s.mem[var];
#endif
        for (int i = s.nbuf[t] - 1; i >= 0; i--) {
            if (s.buf_var[t][i] == var) {
                return s.buf_val[t][i];
            }
        }
        return s.mem[var];
    }

    bool buffer(State &s, int t, int var, int val)
    {
#ifdef MODEL_BUG_TSO_SC
        s.mem[var] = (uint8_t)val;
        return true;
#endif
        if (s.nbuf[t] == MAX_BUF) {
            error = "store buffer overflow";
            return false;
        }
        s.buf_var[t][s.nbuf[t]] = (uint8_t)var;
        s.buf_val[t][s.nbuf[t]] = (uint8_t)val;
        s.nbuf[t]++;
        return true;
    }

    bool finished(const State &s, int t) const
    {
        return progs[t].code[s.pc[t]].op == OP_END;
    }

    bool final_state(const State &s) const
    {
        for (size_t t = 0; t < progs.size(); t++) {
            if (!finished(s, (int)t) || s.nbuf[t]) {
                return false;
            }
        }
        return true;
    }

    bool move(const State &s, Move m, State &out, std::string *violation);
    void describe(const State &before, Move m, const State &after);
    void print_trace(uint32_t last);
    Result liveness(Result r);
};

/*
 * Applies @m to @s.  Returns false if @m is not enabled in @s; sets
 * @violation if the step breaks a property.
 */
inline bool Machine::move(const State &s, Move m, State &out,
                          std::string *violation)
{
    int t = m.thread;
    int all = (1 << progs.size()) - 1;

    out = s;
    if (m.kind == MOVE_FLUSH) {
        if (!s.nbuf[t]) {
            return false;
        }
        out.mem[s.buf_var[t][0]] = s.buf_val[t][0];
        memmove(out.buf_var[t], out.buf_var[t] + 1, MAX_BUF - 1);
        memmove(out.buf_val[t], out.buf_val[t] + 1, MAX_BUF - 1);
        out.buf_var[t][MAX_BUF - 1] = out.buf_val[t][MAX_BUF - 1] = 0;
        out.nbuf[t]--;
        return true;
    }
    if (m.kind == MOVE_BARRIER) {
        if (!(s.barrier_owed & (1 << t))) {
            return false;
        }
#ifndef MODEL_BUG_TSO_MEMBARRIER_NO_DRAIN
        if (s.nbuf[t]) {
            return false;
        }
#endif
        out.barrier_owed &= ~(1 << t);
        return true;
    }

    const Insn &i = progs[t].code[s.pc[t]];
    int next = s.pc[t] + 1;
    uint8_t *r = out.reg[t];

    switch (i.op) {
    case OP_LOAD:
        r[i.reg] = (uint8_t)visible(s, t, i.var);
        break;
    case OP_STORE:
        if (!buffer(out, t, i.var, i.imm)) {
            return false;
        }
        break;
    case OP_STORE_REG:
        if (!buffer(out, t, i.var, s.reg[t][i.reg])) {
            return false;
        }
        break;
    case OP_MFENCE:
#ifndef MODEL_BUG_TSO_MFENCE_NO_DRAIN
        if (s.nbuf[t]) {
            return false;
        }
#endif
        break;
    case OP_XCHG:
    case OP_CMPXCHG:
    case OP_FETCH_ADD:
        if (s.nbuf[t]) {
            return false;
        }
        r[i.reg] = s.mem[i.var];
        if (i.op == OP_XCHG) {
            out.mem[i.var] = (uint8_t)i.imm;
        } else if (i.op == OP_FETCH_ADD) {
            out.mem[i.var] = (uint8_t)(s.mem[i.var] + i.imm);
        } else if (s.mem[i.var] == i.imm) {
            out.mem[i.var] = (uint8_t)i.imm2;
        }
        break;
    case OP_BEQ:
    case OP_BNE:
        if ((s.reg[t][i.reg] == i.imm) == (i.op == OP_BEQ)) {
            next = i.target;
        }
        break;
    case OP_JUMP:
        next = i.target;
        break;
    case OP_AWAIT:
        if (visible(s, t, i.var) != i.imm) {
            return false;
        }
        break;
    case OP_AWAIT_TIMED:
        /* Woken or timed out, on to the next instruction alike. */
        break;
    case OP_MB_REQUEST:
        if (s.nbuf[t]) {
            return false;
        }
        out.barrier_owed = (uint8_t)(all & ~(1 << t));
        break;
    case OP_MB_WAIT:
        if (s.barrier_owed) {
            return false;
        }
        break;
    case OP_USE: {
        int node = s.reg[t][i.reg];

        if (s.freed & (1 << node)) {
            *violation = "USE AFTER FREE";
        } else if (!visible(s, t, i.var + node)) {
            *violation = "UNINITIALISED READ";
        }
        break;
    }
    case OP_FREE:
        out.freed |= (uint8_t)(1 << i.imm);
        break;
    case OP_END:
        return false;
    }
    out.pc[t] = (uint8_t)next;
    return true;
}

/* One line of a counterexample. */
inline void Machine::describe(const State &before, Move m,
                              const State &after)
{
    int t = m.thread;
    const char *who = progs[t].name.c_str();

    if (m.kind == MOVE_FLUSH) {
        std::printf("  %-7s flush: %s = %d reaches memory\n", who,
                    vars[before.buf_var[t][0]], before.buf_val[t][0]);
        return;
    }
    if (m.kind == MOVE_BARRIER) {
        std::printf("  %-7s membarrier's barrier lands here\n", who);
        return;
    }

    const Insn &i = progs[t].code[before.pc[t]];

    std::printf("  %-7s %s", who, i.what);
    switch (i.op) {
    case OP_LOAD: {
        bool forwarded = false;

        for (int b = 0; b < before.nbuf[t]; b++) {
            forwarded |= before.buf_var[t][b] == i.var;
        }
        std::printf(": %s -> %d%s\n", vars[i.var], after.reg[t][i.reg],
                    forwarded ? " (from its own store buffer)" : "");
        return;
    }
    case OP_STORE:
    case OP_STORE_REG:
        std::printf(": %s = %d, buffered\n", vars[i.var],
                    after.buf_val[t][after.nbuf[t] - 1]);
        return;
    case OP_XCHG:
    case OP_CMPXCHG:
    case OP_FETCH_ADD:
        std::printf(": %s %d -> %d (locked)\n", vars[i.var],
                    before.mem[i.var], after.mem[i.var]);
        return;
    case OP_USE:
        std::printf(": node %d\n", before.reg[t][i.reg]);
        return;
    case OP_BEQ:
    case OP_BNE:
        std::printf("? %s\n",
                    (before.reg[t][i.reg] == i.imm) == (i.op == OP_BEQ) ?
                    "yes" : "no");
        return;
    case OP_MB_REQUEST:
        std::printf(": asks every other thread for a barrier\n");
        return;
    case OP_MB_WAIT:
        std::printf(": returns\n");
        return;
    case OP_AWAIT_TIMED:
        std::printf(": %s\n", visible(before, t, i.var) == i.imm ?
                    "woken" : "times out");
        return;
    default:
        std::printf("\n");
        return;
    }
}

/* Prints the path from the initial state to state @last. */
inline void Machine::print_trace(uint32_t last)
{
    std::vector<uint32_t> path;

    for (uint32_t k = last; k; k = parent[k]) {
        path.push_back(k);
    }
    for (size_t n = path.size(); n-- > 0;) {
        describe(states[parent[path[n]]], via[path[n]], states[path[n]]);
    }
}

/*
 * Every reachable state is known: those from which no final state can
 * be reached any more are a livelock (a spin that nothing will end).
 */
inline Result Machine::liveness(Result r)
{
    size_t n = states.size();
    std::vector<uint32_t> start(n + 1, 0), from(edge_to.size());
    std::vector<uint32_t> queue;
    std::vector<bool> live(n, false);

    for (uint32_t to : edge_to) {
        start[to + 1]++;
    }
    for (size_t k = 0; k < n; k++) {
        start[k + 1] += start[k];
    }
    {
        std::vector<uint32_t> fill(start.begin(), start.end() - 1);

        for (size_t e = 0; e < edge_to.size(); e++) {
            from[fill[edge_to[e]]++] = edge_from[e];
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (final_state(states[k])) {
            live[k] = true;
            queue.push_back((uint32_t)k);
        }
    }
    while (!queue.empty()) {
        uint32_t k = queue.back();

        queue.pop_back();
        for (uint32_t e = start[k]; e < start[k + 1]; e++) {
            if (!live[from[e]]) {
                live[from[e]] = true;
                queue.push_back(from[e]);
            }
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (!live[k]) {
            std::printf("a state from which no run ends, reached by:\n");
            print_trace((uint32_t)k);
            r.verdict = Result::VIOLATED;
            r.kind = "LIVELOCK";
            return r;
        }
    }
    return r;
}

inline Result Machine::explore(const State &init)
{
    Result r = {Result::HOLDS, "", 0, 0};
    bool added;

    states.clear();
    parent.clear();
    via.clear();
    edge_from.clear();
    edge_to.clear();
    table.assign(1 << 16, 0);
    intern(init, 0, Move{0, 0}, &added);

    for (size_t k = 0; k < states.size(); k++) {
        bool moved = false;

        for (size_t t = 0; t < progs.size(); t++) {
            for (int kind = MOVE_STEP; kind <= MOVE_BARRIER; kind++) {
                Move m = {(uint8_t)t, (uint8_t)kind};
                std::string violation;
                State next;
                uint32_t to;

                if (!move(states[k], m, next, &violation)) {
                    if (!error.empty()) {
                        r.verdict = Result::MODEL_ERROR;
                        r.kind = error;
                        return r;
                    }
                    continue;
                }
                moved = true;
                r.transitions++;
                if (!violation.empty()) {
                    std::printf("counterexample (%zu states explored):\n",
                                states.size());
                    print_trace((uint32_t)k);
                    describe(states[k], m, next);
                    r.verdict = Result::VIOLATED;
                    r.kind = violation;
                    r.states = states.size();
                    return r;
                }
                to = intern(next, (uint32_t)k, m, &added);
                edge_from.push_back((uint32_t)k);
                edge_to.push_back(to);
                if (states.size() > MAX_STATES) {
                    r.verdict = Result::MODEL_ERROR;
                    r.kind = "too many states";
                    return r;
                }
            }
        }
        if (!moved && !final_state(states[k])) {
            std::printf("no thread can move, reached by:\n");
            print_trace((uint32_t)k);
            for (size_t t = 0; t < progs.size(); t++) {
                if (!finished(states[k], (int)t)) {
                    std::printf("  %-7s blocked at: %s\n",
                                progs[t].name.c_str(),
                                progs[t].code[states[k].pc[t]].what);
                }
            }
            r.verdict = Result::VIOLATED;
            r.kind = "DEADLOCK";
            r.states = states.size();
            return r;
        }
    }
    r.states = states.size();
    return liveness(r);
}

/*
 * Explores one configuration and prints its verdict line in the form
 * tests/model/model-verdict.py reads (as model.h's model_run() does).
 */
inline Result run(const char *name, const std::vector<Program> &threads,
                  const std::vector<const char *> &vars, const State &init)
{
    Machine m(threads, vars);
    Result r;

    std::printf("=== %s: exploring\n", name);
    std::fflush(stdout);
    r = m.explore(init);
    switch (r.verdict) {
    case Result::HOLDS:
        std::printf("=== %s: holds (%zu states, %zu transitions)\n", name,
                    r.states, r.transitions);
        break;
    case Result::VIOLATED:
        std::printf("=== %s: VIOLATED (%s)\n", name, r.kind.c_str());
        break;
    case Result::MODEL_ERROR:
        std::printf("=== %s: MODEL ERROR (%s)\n", name, r.kind.c_str());
        break;
    }
    std::fflush(stdout);
    return r;
}

/* Tallies a program's configurations; exit codes as in model.h. */
struct Tally {
    int total = 0;
    int violated = 0;
    int broken = 0;

    void add(const Result &r)
    {
        total++;
        violated += r.verdict == Result::VIOLATED;
        broken += r.verdict == Result::MODEL_ERROR;
    }

    int verdict(const char *model) const
    {
        if (broken) {
            std::printf("%s: model error in %d of %d configurations\n",
                        model, broken, total);
            return 99;
        }
        if (violated) {
            std::printf("%s: violated in %d of %d configurations\n",
                        model, violated, total);
            return 1;
        }
        std::printf("%s: holds in all %d configurations\n", model, total);
        return 0;
    }
};

}   /* namespace tso */

#endif /* TESTS_MODEL_TSO_H */
