/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The rcu_queue.h macros, for each of QLIST, QSIMPLEQ, QTAILQ and QSLIST.
 *
 * "basic" runs every *_RCU macro single-threaded and checks the result
 * both through the RCU accessors and through the updater-side back
 * pointers (le_prev, sqh_last, tql_prev).
 *
 * "concurrent" has the main thread act as the updater: it keeps the list
 * sorted by unique key, inserting and removing nodes at random places
 * with every insertion and removal form the kind offers, while reader
 * threads walk it inside rcu_read_lock().  Removed nodes are handed to
 * call_rcu(); the callback poisons them and parks them in a quarantine
 * ring before freeing them, so a node reclaimed too early is seen
 * poisoned instead of as recycled memory.  Each node's payload is also
 * replaced from time to time and the old one retired with g_free_rcu().
 * Readers check for poison, strictly increasing keys and consistent
 * payloads; at the end every removed node must have been reclaimed
 * exactly once.
 *
 * Each concurrent phase lasts QEMU_RCU_TEST_SECONDS seconds per list
 * kind if that is set (fractions allowed), else 0.4 s, or 3 s with
 * "-m slow".  A run stops inserting once it has created MAX_NODES nodes
 * (roughly a minute's worth).
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu_queue.h"

#define LIVE_MAGIC      0x4c495645u
#define POISON_MAGIC    0xdeadbeefu
#define KEY_SPACE       256
#define MAX_NODES       (1u << 20)
#define N_READERS       2
#define QUARANTINE      512
#define SYNC_EVERY      16
#define VALIDATE_EVERY  64

typedef struct Payload {
    struct rcu_head rcu;
    uint32_t magic;
    int key;
} Payload;

typedef struct Node {
    struct rcu_head rcu;        /* call_rcu() wants it first */
    uint32_t magic;
    int key;
    unsigned id;
    Payload *payload;
    QLIST_ENTRY(Node) l;
    QSLIST_ENTRY(Node) sl;
    QSIMPLEQ_ENTRY(Node) sq;
    QTAILQ_ENTRY(Node) tq;
} Node;

static QLIST_HEAD(, Node) qlist_head;
static QSLIST_HEAD(, Node) qslist_head;
static QSIMPLEQ_HEAD(, Node) qsimpleq_head =
    QSIMPLEQ_HEAD_INITIALIZER(qsimpleq_head);
static QTAILQ_HEAD(, Node) qtailq_head = QTAILQ_HEAD_INITIALIZER(qtailq_head);

/* What a reader finds through a reclaimed node's payload pointer. */
static Payload poisoned_payload = { .magic = POISON_MAGIC, .key = -1 };

typedef struct WalkState {
    int last_key;
    unsigned count;
    uint32_t rng;
    bool may_yield;
    GString *out;               /* collects the keys, for "basic" */
} WalkState;

static uint32_t xorshift32(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void visit(WalkState *ws, Node *n)
{
    Payload *p;

    g_assert_cmphex(qatomic_read(&n->magic), ==, LIVE_MAGIC);
    g_assert_cmpint(n->key, >, ws->last_key);
    g_assert_cmpint(n->key, <, KEY_SPACE);
    p = qatomic_rcu_read(&n->payload);
    g_assert_cmphex(p->magic, ==, LIVE_MAGIC);
    g_assert_cmpint(p->key, ==, n->key);
    ws->last_key = n->key;
    ws->count++;
    if (ws->out) {
        g_string_append_printf(ws->out, ws->out->len ? " %d" : "%d", n->key);
    }
    /* Let the updater and call_rcu thread run while we hold n. */
    if (ws->may_yield && (xorshift32(&ws->rng) & 63) == 0) {
        g_thread_yield();
    }
}

/*
 * Per-kind operations.  insert() gets the node's sorted neighbours (NULL
 * at either end); "how" picks among the forms that are valid there.
 */
typedef struct ListOps {
    const char *name;
    void (*init)(void);
    Node *(*first)(void);
    Node *(*next)(Node *n);
    void (*insert)(Node *prev, Node *n, Node *next, unsigned how);
    void (*remove)(Node *prev, Node *n, unsigned how);
    unsigned (*validate)(void);
    bool (*empty_rcu)(void);
    void (*walk)(WalkState *ws, unsigned variant);
} ListOps;

#define N_WALK_VARIANTS 3

/* Checks back pointers and order, returns the length. */
static unsigned validate_common(Node *(*first)(void), Node *(*next)(Node *))
{
    unsigned count = 0;
    int last = -1;

    for (Node *n = first(); n; n = next(n)) {
        g_assert_cmphex(n->magic, ==, LIVE_MAGIC);
        g_assert_cmpint(n->key, >, last);
        last = n->key;
        count++;
    }
    return count;
}

/*
 * QLIST
 */

static void qlist_init(void)
{
    QLIST_INIT(&qlist_head);
}

static Node *qlist_first(void)
{
    return QLIST_FIRST(&qlist_head);
}

static Node *qlist_next(Node *n)
{
    return QLIST_NEXT(n, l);
}

static void qlist_insert(Node *prev, Node *n, Node *next, unsigned how)
{
    if (next && (how & 1)) {
        QLIST_INSERT_BEFORE_RCU(next, n, l);
    } else if (prev) {
        QLIST_INSERT_AFTER_RCU(prev, n, l);
    } else {
        QLIST_INSERT_HEAD_RCU(&qlist_head, n, l);
    }
}

static void qlist_remove(Node *prev, Node *n, unsigned how)
{
    Node *next = n->l.le_next;

    QLIST_REMOVE_RCU(n, l);
    g_assert_true(n->l.le_next == next);
}

static unsigned qlist_validate(void)
{
    Node *n;

    QLIST_FOREACH(n, &qlist_head, l) {
        g_assert_true(*n->l.le_prev == n);
    }
    return validate_common(qlist_first, qlist_next);
}

static bool qlist_empty_rcu(void)
{
    return QLIST_EMPTY_RCU(&qlist_head);
}

static void qlist_walk(WalkState *ws, unsigned variant)
{
    Node *n, *next;

    switch (variant) {
    case 0:
        QLIST_FOREACH_RCU(n, &qlist_head, l) {
            visit(ws, n);
        }
        break;
    case 1:
        QLIST_FOREACH_SAFE_RCU(n, &qlist_head, l, next) {
            visit(ws, n);
        }
        break;
    default:
        for (n = QLIST_FIRST_RCU(&qlist_head); n; n = QLIST_NEXT_RCU(n, l)) {
            visit(ws, n);
        }
        break;
    }
}

static const ListOps qlist_ops = {
    .name = "qlist",
    .init = qlist_init,
    .first = qlist_first,
    .next = qlist_next,
    .insert = qlist_insert,
    .remove = qlist_remove,
    .validate = qlist_validate,
    .empty_rcu = qlist_empty_rcu,
    .walk = qlist_walk,
};

/*
 * QSIMPLEQ
 */

static void qsimpleq_init(void)
{
    QSIMPLEQ_INIT(&qsimpleq_head);
}

static Node *qsimpleq_first(void)
{
    return QSIMPLEQ_FIRST(&qsimpleq_head);
}

static Node *qsimpleq_next(Node *n)
{
    return QSIMPLEQ_NEXT(n, sq);
}

static void qsimpleq_insert(Node *prev, Node *n, Node *next, unsigned how)
{
    if (!prev) {
        QSIMPLEQ_INSERT_HEAD_RCU(&qsimpleq_head, n, sq);
    } else if (!next && (how & 1)) {
        QSIMPLEQ_INSERT_TAIL_RCU(&qsimpleq_head, n, sq);
    } else {
        QSIMPLEQ_INSERT_AFTER_RCU(&qsimpleq_head, prev, n, sq);
    }
}

static void qsimpleq_remove(Node *prev, Node *n, unsigned how)
{
    Node *next = n->sq.sqe_next;

    if (!prev && (how & 1)) {
        QSIMPLEQ_REMOVE_HEAD_RCU(&qsimpleq_head, sq);
    } else {
        QSIMPLEQ_REMOVE_RCU(&qsimpleq_head, n, Node, sq);
    }
    g_assert_true(n->sq.sqe_next == next);
}

static unsigned qsimpleq_validate(void)
{
    Node *n, *last = NULL;

    QSIMPLEQ_FOREACH(n, &qsimpleq_head, sq) {
        last = n;
    }
    g_assert_true(qsimpleq_head.sqh_last ==
                  (last ? &last->sq.sqe_next : &qsimpleq_head.sqh_first));
    return validate_common(qsimpleq_first, qsimpleq_next);
}

static bool qsimpleq_empty_rcu(void)
{
    return QSIMPLEQ_EMPTY_RCU(&qsimpleq_head);
}

static void qsimpleq_walk(WalkState *ws, unsigned variant)
{
    Node *n, *next;

    switch (variant) {
    case 0:
        QSIMPLEQ_FOREACH_RCU(n, &qsimpleq_head, sq) {
            visit(ws, n);
        }
        break;
    case 1:
        QSIMPLEQ_FOREACH_SAFE_RCU(n, &qsimpleq_head, sq, next) {
            visit(ws, n);
        }
        break;
    default:
        for (n = QSIMPLEQ_FIRST_RCU(&qsimpleq_head); n;
             n = QSIMPLEQ_NEXT_RCU(n, sq)) {
            visit(ws, n);
        }
        break;
    }
}

static const ListOps qsimpleq_ops = {
    .name = "qsimpleq",
    .init = qsimpleq_init,
    .first = qsimpleq_first,
    .next = qsimpleq_next,
    .insert = qsimpleq_insert,
    .remove = qsimpleq_remove,
    .validate = qsimpleq_validate,
    .empty_rcu = qsimpleq_empty_rcu,
    .walk = qsimpleq_walk,
};

/*
 * QTAILQ
 */

static void qtailq_init(void)
{
    QTAILQ_INIT(&qtailq_head);
}

static Node *qtailq_first(void)
{
    return QTAILQ_FIRST(&qtailq_head);
}

static Node *qtailq_next(Node *n)
{
    return QTAILQ_NEXT(n, tq);
}

static void qtailq_insert(Node *prev, Node *n, Node *next, unsigned how)
{
    if (next && (how & 1)) {
        QTAILQ_INSERT_BEFORE_RCU(next, n, tq);
    } else if (!prev) {
        QTAILQ_INSERT_HEAD_RCU(&qtailq_head, n, tq);
    } else if (!next && (how & 2)) {
        QTAILQ_INSERT_TAIL_RCU(&qtailq_head, n, tq);
    } else {
        QTAILQ_INSERT_AFTER_RCU(&qtailq_head, prev, n, tq);
    }
    g_assert_true(QTAILQ_IN_USE(n, tq));
}

static void qtailq_remove(Node *prev, Node *n, unsigned how)
{
    Node *next = n->tq.tqe_next;

    QTAILQ_REMOVE_RCU(&qtailq_head, n, tq);
    g_assert_false(QTAILQ_IN_USE(n, tq));
    g_assert_true(n->tq.tqe_next == next);
}

/* The backward chain must mirror the forward one. */
static unsigned qtailq_validate(void)
{
    Node *n, *expect = NULL;

    QTAILQ_FOREACH_REVERSE(n, &qtailq_head, tq) {
        g_assert_true(QTAILQ_NEXT(n, tq) == expect);
        expect = n;
    }
    g_assert_true(QTAILQ_FIRST(&qtailq_head) == expect);
    return validate_common(qtailq_first, qtailq_next);
}

static bool qtailq_empty_rcu(void)
{
    return QTAILQ_EMPTY_RCU(&qtailq_head);
}

static void qtailq_walk(WalkState *ws, unsigned variant)
{
    Node *n, *next;

    switch (variant) {
    case 0:
        QTAILQ_FOREACH_RCU(n, &qtailq_head, tq) {
            visit(ws, n);
        }
        break;
    case 1:
        QTAILQ_FOREACH_SAFE_RCU(n, &qtailq_head, tq, next) {
            visit(ws, n);
        }
        break;
    default:
        for (n = QTAILQ_FIRST_RCU(&qtailq_head); n;
             n = QTAILQ_NEXT_RCU(n, tq)) {
            visit(ws, n);
        }
        break;
    }
}

static const ListOps qtailq_ops = {
    .name = "qtailq",
    .init = qtailq_init,
    .first = qtailq_first,
    .next = qtailq_next,
    .insert = qtailq_insert,
    .remove = qtailq_remove,
    .validate = qtailq_validate,
    .empty_rcu = qtailq_empty_rcu,
    .walk = qtailq_walk,
};

/*
 * QSLIST
 */

static void qslist_init(void)
{
    QSLIST_INIT(&qslist_head);
}

static Node *qslist_first(void)
{
    return QSLIST_FIRST(&qslist_head);
}

static Node *qslist_next(Node *n)
{
    return QSLIST_NEXT(n, sl);
}

static void qslist_insert(Node *prev, Node *n, Node *next, unsigned how)
{
    if (prev) {
        QSLIST_INSERT_AFTER_RCU(&qslist_head, prev, n, sl);
    } else {
        QSLIST_INSERT_HEAD_RCU(&qslist_head, n, sl);
    }
}

static void qslist_remove(Node *prev, Node *n, unsigned how)
{
    Node *next = n->sl.sle_next;

    if (!prev && (how & 1)) {
        QSLIST_REMOVE_HEAD_RCU(&qslist_head, sl);
    } else {
        QSLIST_REMOVE_RCU(&qslist_head, n, Node, sl);
    }
    g_assert_true(n->sl.sle_next == next);
}

static unsigned qslist_validate(void)
{
    return validate_common(qslist_first, qslist_next);
}

static bool qslist_empty_rcu(void)
{
    return QSLIST_EMPTY_RCU(&qslist_head);
}

static void qslist_walk(WalkState *ws, unsigned variant)
{
    Node *n, *next;

    switch (variant) {
    case 0:
        QSLIST_FOREACH_RCU(n, &qslist_head, sl) {
            visit(ws, n);
        }
        break;
    case 1:
        QSLIST_FOREACH_SAFE_RCU(n, &qslist_head, sl, next) {
            visit(ws, n);
        }
        break;
    default:
        for (n = QSLIST_FIRST_RCU(&qslist_head); n;
             n = QSLIST_NEXT_RCU(n, sl)) {
            visit(ws, n);
        }
        break;
    }
}

static const ListOps qslist_ops = {
    .name = "qslist",
    .init = qslist_init,
    .first = qslist_first,
    .next = qslist_next,
    .insert = qslist_insert,
    .remove = qslist_remove,
    .validate = qslist_validate,
    .empty_rcu = qslist_empty_rcu,
    .walk = qslist_walk,
};

/*
 * Nodes and reclamation
 */

static Node *node_new(int key, unsigned id)
{
    Node *n = g_new0(Node, 1);

    n->magic = LIVE_MAGIC;
    n->key = key;
    n->id = id;
    n->payload = g_new0(Payload, 1);
    n->payload->magic = LIVE_MAGIC;
    n->payload->key = key;
    return n;
}

static void node_free(Node *n)
{
    if (n->payload != &poisoned_payload) {
        g_free(n->payload);
    }
    g_free(n);
}

/* State of one concurrent run, shared with the call_rcu callback. */
static struct {
    const ListOps *ops;
    bool stop;
    unsigned next_id;
    guint8 *removed;            /* written by the updater */
    guint8 *reclaimed;          /* written by the callback */
    Node *quarantine[QUARANTINE];
    unsigned q_pos;             /* callbacks run one at a time */
} run;

static void reclaim_node(Node *n)
{
    Node *old;

    /* A second reclaim of a quarantined node would find it poisoned. */
    g_assert_cmphex(n->magic, ==, LIVE_MAGIC);
    g_assert_cmpuint(n->id, <, MAX_NODES);
    g_assert_cmpuint(run.removed[n->id], ==, 1);
    run.reclaimed[n->id]++;

    g_free(n->payload);
    qatomic_set(&n->payload, &poisoned_payload);
    n->key = -1;
    qatomic_set(&n->magic, POISON_MAGIC);

    old = run.quarantine[run.q_pos];
    run.quarantine[run.q_pos] = n;
    run.q_pos = (run.q_pos + 1) % QUARANTINE;
    if (old) {
        node_free(old);
    }
}

static void retire_node(Node *prev, Node *n, unsigned how)
{
    run.ops->remove(prev, n, how);
    g_assert_cmpuint(run.removed[n->id], ==, 0);
    run.removed[n->id] = 1;
    call_rcu(n, reclaim_node, rcu);
}

/*
 * Readers
 */

typedef struct Reader {
    GThread *thread;
    uint32_t seed;
    uint64_t walks;
    uint64_t visited;
} Reader;

static gpointer reader_thread(gpointer opaque)
{
    Reader *r = opaque;

    rcu_register_thread();
    while (!qatomic_read(&run.stop)) {
        WalkState ws = {
            .last_key = -1,
            .rng = r->seed + (uint32_t)r->walks * 2654435761u,
            .may_yield = true,
        };

        if (ws.rng == 0) {
            ws.rng = 1;
        }
        rcu_read_lock();
        run.ops->walk(&ws, r->walks % N_WALK_VARIANTS);
        rcu_read_unlock();
        r->walks++;
        r->visited += ws.count;
    }
    rcu_unregister_thread();
    return NULL;
}

/*
 * The updater
 */

/* prev: last node with a smaller key; returns the first with key >= key. */
static Node *find_key(int key, Node **prev)
{
    Node *n;

    *prev = NULL;
    for (n = run.ops->first(); n && n->key < key; n = run.ops->next(n)) {
        *prev = n;
    }
    return n;
}

static void replace_payload(Node *n)
{
    Payload *old = n->payload;
    Payload *p = g_new0(Payload, 1);

    p->magic = LIVE_MAGIC;
    p->key = n->key;
    qatomic_rcu_set(&n->payload, p);
    g_free_rcu(old, rcu);
}

static double test_seconds(void)
{
    const char *env = g_getenv("QEMU_RCU_TEST_SECONDS");

    if (env && *env) {
        return g_ascii_strtod(env, NULL);
    }
    return g_test_slow() ? 3.0 : 0.4;
}

static void test_concurrent(gconstpointer opaque)
{
    const ListOps *ops = opaque;
    Reader readers[N_READERS];
    GRand *rand = g_rand_new_with_seed(g_test_rand_int());
    int64_t deadline;
    unsigned live = 0, inserted = 0, removed = 0, swaps = 0;
    uint64_t walks = 0, visited = 0;
    uint64_t ops_done = 0;
    Node *n, *prev;

    memset(&run, 0, sizeof(run));
    run.ops = ops;
    run.removed = g_new0(guint8, MAX_NODES);
    run.reclaimed = g_new0(guint8, MAX_NODES);
    ops->init();

    /* Start half full so that early walks have something to see. */
    for (int key = 0; key < KEY_SPACE; key += 2) {
        n = find_key(key, &prev);
        ops->insert(prev, node_new(key, run.next_id++), n, key);
        live++;
    }
    g_assert_cmpuint(ops->validate(), ==, live);

    for (int i = 0; i < N_READERS; i++) {
        readers[i] = (Reader) { .seed = g_rand_int(rand) };
        readers[i].thread = g_thread_new("rcu-reader", reader_thread,
                                         &readers[i]);
    }

    deadline = g_get_monotonic_time() + test_seconds() * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < deadline) {
        uint32_t r = g_rand_int(rand);
        int key = r % KEY_SPACE;
        unsigned how = r >> 16;

        n = find_key(key, &prev);
        if (n && n->key == key) {
            if ((how & 0xc) == 0) {
                replace_payload(n);
                swaps++;
            } else {
                retire_node(prev, n, how);
                live--;
                removed++;
            }
        } else if (run.next_id < MAX_NODES) {
            ops->insert(prev, node_new(key, run.next_id++), n, how);
            live++;
            inserted++;
        }

        if (++ops_done % SYNC_EVERY == 0) {
            synchronize_rcu();
        }
        if (ops_done % VALIDATE_EVERY == 0) {
            g_assert_cmpuint(ops->validate(), ==, live);
        }
    }

    qatomic_set(&run.stop, true);
    for (int i = 0; i < N_READERS; i++) {
        g_thread_join(readers[i].thread);
        walks += readers[i].walks;
        visited += readers[i].visited;
    }

    g_assert_cmpuint(ops->validate(), ==, live);
    while ((n = ops->first()) != NULL) {
        retire_node(NULL, n, live);
        live--;
    }
    g_assert_cmpuint(live, ==, 0);
    g_assert_true(ops->empty_rcu());
    drain_call_rcu();

    for (unsigned id = 0; id < run.next_id; id++) {
        if (run.removed[id] != 1 || run.reclaimed[id] != 1) {
            g_error("%s: node %u removed %u times, reclaimed %u times",
                    ops->name, id, run.removed[id], run.reclaimed[id]);
        }
    }

    g_test_message("%s: %u inserted, %u removed, %u payloads replaced, "
                   "%" PRIu64 " walks, %" PRIu64 " nodes visited",
                   ops->name, inserted, removed, swaps, walks, visited);
    g_assert_cmpuint(inserted, >, 0);
    g_assert_cmpuint(removed, >, 0);
    g_assert_cmpuint(walks, >, 0);
    g_assert_cmpuint(visited, >, 0);

    for (int i = 0; i < QUARANTINE; i++) {
        if (run.quarantine[i]) {
            node_free(run.quarantine[i]);
        }
    }
    g_free(run.removed);
    g_free(run.reclaimed);
    g_rand_free(rand);
}

/*
 * Single-threaded checks of every macro
 */

#define N_BASIC 8

/* Renders the list through each RCU walk form; they must agree. */
static char *render(const ListOps *ops)
{
    char *first = NULL;

    for (unsigned v = 0; v < N_WALK_VARIANTS; v++) {
        WalkState ws = { .last_key = -1, .out = g_string_new("") };
        char *s;

        rcu_read_lock();
        ops->walk(&ws, v);
        rcu_read_unlock();
        s = g_string_free(ws.out, false);
        if (!first) {
            first = s;
        } else {
            g_assert_cmpstr(s, ==, first);
            g_free(s);
        }
    }
    g_assert_true(ops->empty_rcu() == (*first == '\0'));
    return first;
}

#define CHECK(ops, expected) do {                                       \
    g_autofree char *got_ = render(ops);                                \
    g_assert_cmpstr(got_, ==, expected);                                \
    (ops)->validate();                                                  \
} while (0)

static void basic_nodes(Node **e)
{
    for (int i = 0; i < N_BASIC; i++) {
        e[i] = node_new(i, i);
    }
}

static void basic_free(Node **e)
{
    for (int i = 0; i < N_BASIC; i++) {
        node_free(e[i]);
    }
}

static void test_qlist_basic(void)
{
    const ListOps *ops = &qlist_ops;
    Node *e[N_BASIC];

    basic_nodes(e);
    QLIST_INIT(&qlist_head);
    CHECK(ops, "");
    g_assert_null(QLIST_FIRST_RCU(&qlist_head));

    QLIST_INSERT_HEAD_RCU(&qlist_head, e[2], l);
    CHECK(ops, "2");
    QLIST_INSERT_HEAD_RCU(&qlist_head, e[0], l);
    QLIST_INSERT_AFTER_RCU(e[2], e[4], l);
    CHECK(ops, "0 2 4");
    QLIST_INSERT_BEFORE_RCU(e[2], e[1], l);
    QLIST_INSERT_BEFORE_RCU(e[4], e[3], l);
    QLIST_INSERT_AFTER_RCU(e[4], e[5], l);
    CHECK(ops, "0 1 2 3 4 5");
    g_assert_true(QLIST_FIRST_RCU(&qlist_head) == e[0]);
    g_assert_true(QLIST_NEXT_RCU(e[3], l) == e[4]);
    g_assert_null(QLIST_NEXT_RCU(e[5], l));

    /* A reader parked on the removed node still reaches the rest. */
    QLIST_REMOVE_RCU(e[2], l);
    CHECK(ops, "0 1 3 4 5");
    g_assert_true(QLIST_NEXT_RCU(e[2], l) == e[3]);
    QLIST_REMOVE_RCU(e[0], l);
    QLIST_REMOVE_RCU(e[5], l);
    CHECK(ops, "1 3 4");
    QLIST_INSERT_BEFORE_RCU(e[1], e[0], l);
    CHECK(ops, "0 1 3 4");

    QLIST_REMOVE_RCU(e[0], l);
    QLIST_REMOVE_RCU(e[1], l);
    QLIST_REMOVE_RCU(e[3], l);
    QLIST_REMOVE_RCU(e[4], l);
    CHECK(ops, "");
    basic_free(e);
}

static void test_qsimpleq_basic(void)
{
    const ListOps *ops = &qsimpleq_ops;
    Node *e[N_BASIC];

    basic_nodes(e);
    QSIMPLEQ_INIT(&qsimpleq_head);
    CHECK(ops, "");
    g_assert_null(QSIMPLEQ_FIRST_RCU(&qsimpleq_head));

    QSIMPLEQ_INSERT_TAIL_RCU(&qsimpleq_head, e[2], sq);
    CHECK(ops, "2");
    QSIMPLEQ_INSERT_HEAD_RCU(&qsimpleq_head, e[0], sq);
    QSIMPLEQ_INSERT_TAIL_RCU(&qsimpleq_head, e[4], sq);
    CHECK(ops, "0 2 4");
    QSIMPLEQ_INSERT_AFTER_RCU(&qsimpleq_head, e[0], e[1], sq);
    QSIMPLEQ_INSERT_AFTER_RCU(&qsimpleq_head, e[4], e[5], sq);
    QSIMPLEQ_INSERT_AFTER_RCU(&qsimpleq_head, e[2], e[3], sq);
    CHECK(ops, "0 1 2 3 4 5");
    g_assert_true(QSIMPLEQ_FIRST_RCU(&qsimpleq_head) == e[0]);
    g_assert_true(QSIMPLEQ_NEXT_RCU(e[3], sq) == e[4]);
    g_assert_null(QSIMPLEQ_NEXT_RCU(e[5], sq));

    QSIMPLEQ_REMOVE_HEAD_RCU(&qsimpleq_head, sq);
    CHECK(ops, "1 2 3 4 5");
    g_assert_true(QSIMPLEQ_NEXT_RCU(e[0], sq) == e[1]);
    QSIMPLEQ_REMOVE_RCU(&qsimpleq_head, e[3], Node, sq);
    CHECK(ops, "1 2 4 5");
    g_assert_true(QSIMPLEQ_NEXT_RCU(e[3], sq) == e[4]);
    QSIMPLEQ_REMOVE_RCU(&qsimpleq_head, e[5], Node, sq);
    QSIMPLEQ_INSERT_TAIL_RCU(&qsimpleq_head, e[6], sq);
    CHECK(ops, "1 2 4 6");
    QSIMPLEQ_REMOVE_RCU(&qsimpleq_head, e[1], Node, sq);
    CHECK(ops, "2 4 6");

    QSIMPLEQ_REMOVE_HEAD_RCU(&qsimpleq_head, sq);
    QSIMPLEQ_REMOVE_HEAD_RCU(&qsimpleq_head, sq);
    QSIMPLEQ_REMOVE_RCU(&qsimpleq_head, e[6], Node, sq);
    CHECK(ops, "");
    QSIMPLEQ_INSERT_TAIL_RCU(&qsimpleq_head, e[7], sq);
    CHECK(ops, "7");
    QSIMPLEQ_REMOVE_HEAD_RCU(&qsimpleq_head, sq);
    CHECK(ops, "");
    basic_free(e);
}

static void test_qtailq_basic(void)
{
    const ListOps *ops = &qtailq_ops;
    Node *e[N_BASIC];

    basic_nodes(e);
    QTAILQ_INIT(&qtailq_head);
    CHECK(ops, "");
    g_assert_null(QTAILQ_FIRST_RCU(&qtailq_head));

    QTAILQ_INSERT_TAIL_RCU(&qtailq_head, e[2], tq);
    CHECK(ops, "2");
    QTAILQ_INSERT_HEAD_RCU(&qtailq_head, e[1], tq);
    QTAILQ_INSERT_TAIL_RCU(&qtailq_head, e[4], tq);
    CHECK(ops, "1 2 4");
    QTAILQ_INSERT_AFTER_RCU(&qtailq_head, e[2], e[3], tq);
    QTAILQ_INSERT_AFTER_RCU(&qtailq_head, e[4], e[6], tq);
    QTAILQ_INSERT_BEFORE_RCU(e[1], e[0], tq);
    QTAILQ_INSERT_BEFORE_RCU(e[6], e[5], tq);
    CHECK(ops, "0 1 2 3 4 5 6");
    g_assert_true(QTAILQ_FIRST_RCU(&qtailq_head) == e[0]);
    g_assert_true(QTAILQ_NEXT_RCU(e[3], tq) == e[4]);
    g_assert_null(QTAILQ_NEXT_RCU(e[6], tq));
    g_assert_true(QTAILQ_LAST(&qtailq_head) == e[6]);

    QTAILQ_REMOVE_RCU(&qtailq_head, e[3], tq);
    CHECK(ops, "0 1 2 4 5 6");
    g_assert_false(QTAILQ_IN_USE(e[3], tq));
    g_assert_true(QTAILQ_NEXT_RCU(e[3], tq) == e[4]);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[0], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[6], tq);
    CHECK(ops, "1 2 4 5");
    g_assert_true(QTAILQ_LAST(&qtailq_head) == e[5]);
    QTAILQ_INSERT_TAIL_RCU(&qtailq_head, e[7], tq);
    CHECK(ops, "1 2 4 5 7");

    QTAILQ_REMOVE_RCU(&qtailq_head, e[1], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[2], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[4], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[5], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[7], tq);
    CHECK(ops, "");
    basic_free(e);
}

/* QEMU's tests fill a zero-initialised QTAILQ head with INSERT_HEAD_RCU. */
static void test_qtailq_zero_head(void)
{
    const ListOps *ops = &qtailq_ops;
    Node *e[N_BASIC];

    basic_nodes(e);
    memset(&qtailq_head, 0, sizeof(qtailq_head));
    QTAILQ_INSERT_HEAD_RCU(&qtailq_head, e[1], tq);
    QTAILQ_INSERT_HEAD_RCU(&qtailq_head, e[0], tq);
    QTAILQ_INSERT_TAIL_RCU(&qtailq_head, e[2], tq);
    CHECK(ops, "0 1 2");
    QTAILQ_REMOVE_RCU(&qtailq_head, e[0], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[1], tq);
    QTAILQ_REMOVE_RCU(&qtailq_head, e[2], tq);
    CHECK(ops, "");
    basic_free(e);
}

static void test_qslist_basic(void)
{
    const ListOps *ops = &qslist_ops;
    Node *e[N_BASIC];

    basic_nodes(e);
    QSLIST_INIT(&qslist_head);
    CHECK(ops, "");
    g_assert_null(QSLIST_FIRST_RCU(&qslist_head));

    QSLIST_INSERT_HEAD_RCU(&qslist_head, e[3], sl);
    CHECK(ops, "3");
    QSLIST_INSERT_HEAD_RCU(&qslist_head, e[0], sl);
    QSLIST_INSERT_AFTER_RCU(&qslist_head, e[0], e[1], sl);
    QSLIST_INSERT_AFTER_RCU(&qslist_head, e[3], e[5], sl);
    QSLIST_INSERT_AFTER_RCU(&qslist_head, e[1], e[2], sl);
    CHECK(ops, "0 1 2 3 5");
    g_assert_true(QSLIST_FIRST_RCU(&qslist_head) == e[0]);
    g_assert_true(QSLIST_NEXT_RCU(e[2], sl) == e[3]);
    g_assert_null(QSLIST_NEXT_RCU(e[5], sl));

    QSLIST_REMOVE_HEAD_RCU(&qslist_head, sl);
    CHECK(ops, "1 2 3 5");
    g_assert_true(QSLIST_NEXT_RCU(e[0], sl) == e[1]);
    QSLIST_REMOVE_RCU(&qslist_head, e[2], Node, sl);
    CHECK(ops, "1 3 5");
    g_assert_true(QSLIST_NEXT_RCU(e[2], sl) == e[3]);
    QSLIST_REMOVE_RCU(&qslist_head, e[5], Node, sl);
    QSLIST_REMOVE_RCU(&qslist_head, e[1], Node, sl);
    CHECK(ops, "3");
    QSLIST_REMOVE_RCU(&qslist_head, e[3], Node, sl);
    CHECK(ops, "");
    basic_free(e);
}

int main(int argc, char **argv)
{
    static const ListOps *const all_ops[] = {
        &qlist_ops, &qsimpleq_ops, &qtailq_ops, &qslist_ops,
    };

    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/rcu-queues/qlist/basic", test_qlist_basic);
    g_test_add_func("/rcu-queues/qsimpleq/basic", test_qsimpleq_basic);
    g_test_add_func("/rcu-queues/qtailq/basic", test_qtailq_basic);
    g_test_add_func("/rcu-queues/qtailq/zero-head", test_qtailq_zero_head);
    g_test_add_func("/rcu-queues/qslist/basic", test_qslist_basic);

    for (size_t i = 0; i < G_N_ELEMENTS(all_ops); i++) {
        g_autofree char *path =
            g_strdup_printf("/rcu-queues/%s/concurrent", all_ops[i]->name);

        g_test_add_data_func(path, all_ops[i], test_concurrent);
    }

    return g_test_run();
}
