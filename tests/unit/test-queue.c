/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Single-threaded tests of the plain queue.h macros, plus a concurrent
 * test of QSLIST_INSERT_HEAD_ATOMIC / QSLIST_MOVE_ATOMIC.
 *
 * After every operation the lists are rendered as "v1 v2 ..." and their
 * internal back pointers (le_prev, sqh_last, tql_prev) are checked, so a
 * macro that leaves a list subtly corrupted fails on the spot.
 */
#include "qemu/osdep.h"
#include "qemu/queue.h"

typedef struct Elem {
    int val;
    QLIST_ENTRY(Elem) l;
    QSLIST_ENTRY(Elem) sl;
    QSIMPLEQ_ENTRY(Elem) sq;
    QTAILQ_ENTRY(Elem) tq;
} Elem;

typedef QLIST_HEAD(ElemList, Elem) ElemList;
typedef QSLIST_HEAD(ElemSList, Elem) ElemSList;
typedef QSIMPLEQ_HEAD(ElemSimpleQ, Elem) ElemSimpleQ;
typedef QTAILQ_HEAD(ElemTailQ, Elem) ElemTailQ;

#define N_ELEMS 8

static void init_elems(Elem *e, int n)
{
    memset(e, 0, n * sizeof(*e));
    for (int i = 0; i < n; i++) {
        e[i].val = i;
    }
}

static void append_val(GString *s, const Elem *e)
{
    g_string_append_printf(s, s->len ? " %d" : "%d", e->val);
}

static char *qlist_str(ElemList *h)
{
    GString *s = g_string_new("");
    Elem *e;

    QLIST_FOREACH(e, h, l) {
        g_assert(QLIST_IS_INSERTED(e, l));
        g_assert_true(*e->l.le_prev == e);
        append_val(s, e);
    }
    if (!QLIST_EMPTY(h)) {
        g_assert_true(QLIST_FIRST(h)->l.le_prev == &h->lh_first);
    }
    return g_string_free(s, false);
}

static char *qslist_str(ElemSList *h)
{
    GString *s = g_string_new("");
    Elem *e;

    QSLIST_FOREACH(e, h, sl) {
        append_val(s, e);
    }
    return g_string_free(s, false);
}

static char *qsimpleq_str(ElemSimpleQ *h)
{
    GString *s = g_string_new("");
    Elem *e, *last = NULL;

    QSIMPLEQ_FOREACH(e, h, sq) {
        append_val(s, e);
        last = e;
    }
    if (last) {
        g_assert_true(h->sqh_last == &last->sq.sqe_next);
        g_assert_true(QSIMPLEQ_LAST(h, Elem, sq) == last);
    } else {
        g_assert_true(h->sqh_last == &h->sqh_first);
        g_assert_null(QSIMPLEQ_LAST(h, Elem, sq));
    }
    return g_string_free(s, false);
}

/* Checks that the reverse walk is the exact mirror of the forward walk. */
static char *qtailq_str(ElemTailQ *h)
{
    GString *s = g_string_new("");
    Elem *fwd[N_ELEMS * 2];
    int n = 0;
    Elem *e;

    QTAILQ_FOREACH(e, h, tq) {
        g_assert_cmpint(n, <, (int)G_N_ELEMENTS(fwd));
        g_assert_true(QTAILQ_IN_USE(e, tq));
        fwd[n++] = e;
        append_val(s, e);
    }
    QTAILQ_FOREACH_REVERSE(e, h, tq) {
        g_assert_cmpint(n, >, 0);
        g_assert_true(e == fwd[--n]);
    }
    g_assert_cmpint(n, ==, 0);
    if (QTAILQ_EMPTY(h)) {
        g_assert_null(QTAILQ_LAST(h));
        g_assert_true(h->tqh_circ.tql_prev == &h->tqh_circ);
    } else {
        g_assert_true(QTAILQ_FIRST(h)->tq.tqe_circ.tql_prev == &h->tqh_circ);
        g_assert_null(QTAILQ_PREV(QTAILQ_FIRST(h), tq));
        g_assert_null(QTAILQ_NEXT(QTAILQ_LAST(h), tq));
    }
    return g_string_free(s, false);
}

#define CHECK_LIST(fn, head, expected) do {                             \
    g_autofree char *str_ = fn(head);                                   \
    g_assert_cmpstr(str_, ==, expected);                                \
} while (0)

/*
 * QLIST
 */

static void test_qlist_insert_remove(void)
{
    ElemList h;
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    QLIST_INIT(&h);
    g_assert_true(QLIST_EMPTY(&h));
    g_assert_null(QLIST_FIRST(&h));
    CHECK_LIST(qlist_str, &h, "");

    QLIST_INSERT_HEAD(&h, &e[1], l);
    g_assert_false(QLIST_EMPTY(&h));
    QLIST_INSERT_HEAD(&h, &e[0], l);
    CHECK_LIST(qlist_str, &h, "0 1");

    QLIST_INSERT_AFTER(&e[1], &e[3], l);
    QLIST_INSERT_AFTER(&e[1], &e[2], l);
    CHECK_LIST(qlist_str, &h, "0 1 2 3");

    QLIST_INSERT_BEFORE(&e[0], &e[4], l);
    QLIST_INSERT_BEFORE(&e[3], &e[5], l);
    CHECK_LIST(qlist_str, &h, "4 0 1 2 5 3");
    g_assert_true(QLIST_FIRST(&h) == &e[4]);
    g_assert_true(QLIST_NEXT(&e[4], l) == &e[0]);
    g_assert_null(QLIST_NEXT(&e[3], l));

    QLIST_REMOVE(&e[4], l);
    CHECK_LIST(qlist_str, &h, "0 1 2 5 3");
    QLIST_REMOVE(&e[2], l);
    CHECK_LIST(qlist_str, &h, "0 1 5 3");
    QLIST_REMOVE(&e[3], l);
    CHECK_LIST(qlist_str, &h, "0 1 5");
    g_assert_false(QLIST_IS_INSERTED(&e[3], l));
    g_assert_null(e[3].l.le_next);
    g_assert_true(QLIST_IS_INSERTED(&e[5], l));

    /* No-op on an element that is on no list, removal otherwise. */
    QLIST_SAFE_REMOVE(&e[3], l);
    CHECK_LIST(qlist_str, &h, "0 1 5");
    QLIST_SAFE_REMOVE(&e[1], l);
    CHECK_LIST(qlist_str, &h, "0 5");
    g_assert_false(QLIST_IS_INSERTED(&e[1], l));
    QLIST_SAFE_REMOVE(&e[1], l);
    CHECK_LIST(qlist_str, &h, "0 5");

    QLIST_REMOVE(&e[0], l);
    QLIST_REMOVE(&e[5], l);
    g_assert_true(QLIST_EMPTY(&h));
    CHECK_LIST(qlist_str, &h, "");
}

static void test_qlist_foreach_safe(void)
{
    ElemList h = QLIST_HEAD_INITIALIZER(h);
    Elem *e, *next;
    int n = 0;

    for (int i = 0; i < N_ELEMS; i++) {
        e = g_new0(Elem, 1);
        e->val = i;
        QLIST_INSERT_HEAD(&h, e, l);
    }
    CHECK_LIST(qlist_str, &h, "7 6 5 4 3 2 1 0");

    /* Drop the odd ones while walking, then free the rest the same way. */
    QLIST_FOREACH_SAFE(e, &h, l, next) {
        if (e->val & 1) {
            QLIST_REMOVE(e, l);
            g_free(e);
        }
    }
    CHECK_LIST(qlist_str, &h, "6 4 2 0");
    QLIST_FOREACH_SAFE(e, &h, l, next) {
        QLIST_REMOVE(e, l);
        g_free(e);
        n++;
    }
    g_assert_null(e);
    g_assert_cmpint(n, ==, 4);
    g_assert_true(QLIST_EMPTY(&h));
}

static void test_qlist_swap(void)
{
    ElemList a, b;
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    QLIST_INIT(&a);
    QLIST_INIT(&b);
    QLIST_INSERT_HEAD(&a, &e[1], l);
    QLIST_INSERT_HEAD(&a, &e[0], l);
    QLIST_INSERT_HEAD(&b, &e[2], l);

    QLIST_SWAP(&a, &b, l);
    CHECK_LIST(qlist_str, &a, "2");
    CHECK_LIST(qlist_str, &b, "0 1");

    QLIST_REMOVE(&e[2], l);
    QLIST_SWAP(&a, &b, l);
    CHECK_LIST(qlist_str, &a, "0 1");
    CHECK_LIST(qlist_str, &b, "");

    /* The heads' back pointers were retargeted: removal must still work. */
    QLIST_REMOVE(&e[0], l);
    CHECK_LIST(qlist_str, &a, "1");
}

static void test_qlist_raw(void)
{
    ElemList h;
    Elem e[N_ELEMS];
    const size_t off = offsetof(Elem, l);
    static const int order[] = { 4, 0, 1, 5, 2, 3 };
    Elem *prev = NULL;
    void *raw;
    int n = 0;

    init_elems(e, N_ELEMS);
    QLIST_INIT(&h);

    /* Built the way a loader that only knows the entry offset would. */
    for (int i = 0; i < 4; i++) {
        if (!prev) {
            QLIST_RAW_INSERT_HEAD(&h, &e[i], off);
        } else {
            QLIST_RAW_INSERT_AFTER(&h, prev, &e[i], off);
        }
        prev = &e[i];
    }
    CHECK_LIST(qlist_str, &h, "0 1 2 3");

    QLIST_RAW_INSERT_HEAD(&h, &e[4], off);
    QLIST_RAW_INSERT_AFTER(&h, &e[1], &e[5], off);
    CHECK_LIST(qlist_str, &h, "4 0 1 5 2 3");

    g_assert_true(*QLIST_RAW_FIRST(&h) == &e[4]);
    g_assert_true(*QLIST_RAW_NEXT(&e[1], off) == &e[5]);
    g_assert_true(*QLIST_RAW_PREVIOUS(&e[5], off) == &e[1].l.le_next);

    QLIST_RAW_FOREACH(raw, &h, off) {
        g_assert_cmpint(n, <, (int)G_N_ELEMENTS(order));
        g_assert_true(raw == &e[order[n]]);
        n++;
    }
    g_assert_cmpint(n, ==, G_N_ELEMENTS(order));
}

/*
 * QSLIST
 */

static void test_qslist_insert_remove(void)
{
    ElemSList h = QSLIST_HEAD_INITIALIZER(h);
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    g_assert_true(QSLIST_EMPTY(&h));
    QSLIST_INIT(&h);
    g_assert_null(QSLIST_FIRST(&h));

    QSLIST_INSERT_HEAD(&h, &e[2], sl);
    QSLIST_INSERT_HEAD(&h, &e[0], sl);
    QSLIST_INSERT_AFTER(&e[0], &e[1], sl);
    QSLIST_INSERT_AFTER(&e[2], &e[4], sl);
    QSLIST_INSERT_AFTER(&e[2], &e[3], sl);
    CHECK_LIST(qslist_str, &h, "0 1 2 3 4");
    g_assert_false(QSLIST_EMPTY(&h));
    g_assert_true(QSLIST_FIRST(&h) == &e[0]);
    g_assert_true(QSLIST_NEXT(&e[0], sl) == &e[1]);
    g_assert_null(QSLIST_NEXT(&e[4], sl));

    QSLIST_REMOVE_HEAD(&h, sl);
    CHECK_LIST(qslist_str, &h, "1 2 3 4");
    g_assert_null(e[0].sl.sle_next);

    QSLIST_REMOVE_AFTER(&e[2], sl);
    CHECK_LIST(qslist_str, &h, "1 2 4");
    g_assert_null(e[3].sl.sle_next);

    QSLIST_REMOVE(&h, &e[2], Elem, sl);
    CHECK_LIST(qslist_str, &h, "1 4");
    g_assert_null(e[2].sl.sle_next);
    QSLIST_REMOVE(&h, &e[4], Elem, sl);
    CHECK_LIST(qslist_str, &h, "1");
    QSLIST_REMOVE(&h, &e[1], Elem, sl);
    CHECK_LIST(qslist_str, &h, "");
    g_assert_true(QSLIST_EMPTY(&h));
}

static void test_qslist_foreach_safe(void)
{
    ElemSList h;
    Elem *e, *next;
    int n = 0;

    QSLIST_INIT(&h);
    for (int i = 0; i < N_ELEMS; i++) {
        e = g_new0(Elem, 1);
        e->val = i;
        QSLIST_INSERT_HEAD(&h, e, sl);
    }
    QSLIST_FOREACH_SAFE(e, &h, sl, next) {
        if (e->val % 3 == 0) {
            QSLIST_REMOVE(&h, e, Elem, sl);
            g_free(e);
        }
    }
    CHECK_LIST(qslist_str, &h, "7 5 4 2 1");
    QSLIST_FOREACH_SAFE(e, &h, sl, next) {
        QSLIST_REMOVE_HEAD(&h, sl);
        g_free(e);
        n++;
    }
    g_assert_cmpint(n, ==, 5);
    g_assert_true(QSLIST_EMPTY(&h));
}

static void test_qslist_atomic_single(void)
{
    ElemSList src, dst;
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    QSLIST_INIT(&src);
    QSLIST_INIT(&dst);

    QSLIST_MOVE_ATOMIC(&dst, &src);
    g_assert_true(QSLIST_EMPTY(&dst));

    for (int i = 0; i < 4; i++) {
        QSLIST_INSERT_HEAD_ATOMIC(&src, &e[i], sl);
    }
    CHECK_LIST(qslist_str, &src, "3 2 1 0");

    QSLIST_MOVE_ATOMIC(&dst, &src);
    g_assert_true(QSLIST_EMPTY(&src));
    CHECK_LIST(qslist_str, &dst, "3 2 1 0");
}

#define PUSHERS       2
#define PUSHES_EACH   20000

typedef struct PushArg {
    ElemSList *head;
    Elem *elems;
} PushArg;

static gpointer pusher_thread(gpointer opaque)
{
    PushArg *arg = opaque;

    for (int i = 0; i < PUSHES_EACH; i++) {
        QSLIST_INSERT_HEAD_ATOMIC(arg->head, &arg->elems[i], sl);
    }
    return NULL;
}

/*
 * Pushers race with each other and with a consumer that keeps stealing
 * the whole list: every element must come out exactly once, and each
 * pusher's elements must come out in LIFO order within one batch.
 */
static void test_qslist_atomic_concurrent(void)
{
    ElemSList shared, batch;
    Elem *elems = g_new0(Elem, PUSHERS * PUSHES_EACH);
    guint8 *seen = g_new0(guint8, PUSHERS * PUSHES_EACH);
    PushArg args[PUSHERS];
    GThread *threads[PUSHERS];
    int total = 0;

    QSLIST_INIT(&shared);
    for (int i = 0; i < PUSHERS * PUSHES_EACH; i++) {
        elems[i].val = i;
    }
    for (int t = 0; t < PUSHERS; t++) {
        args[t].head = &shared;
        args[t].elems = &elems[t * PUSHES_EACH];
        threads[t] = g_thread_new("pusher", pusher_thread, &args[t]);
    }

    while (total < PUSHERS * PUSHES_EACH) {
        int last_of[PUSHERS];
        Elem *e;

        for (int t = 0; t < PUSHERS; t++) {
            last_of[t] = INT_MAX;
        }
        QSLIST_MOVE_ATOMIC(&batch, &shared);
        QSLIST_FOREACH(e, &batch, sl) {
            int t = e->val / PUSHES_EACH;

            g_assert_cmpint(e->val, >=, 0);
            g_assert_cmpint(e->val, <, PUSHERS * PUSHES_EACH);
            g_assert_cmpint(seen[e->val], ==, 0);
            g_assert_cmpint(e->val, <, last_of[t]);
            last_of[t] = e->val;
            seen[e->val] = 1;
            total++;
        }
    }
    for (int t = 0; t < PUSHERS; t++) {
        g_thread_join(threads[t]);
    }
    g_assert_true(QSLIST_EMPTY(&shared));
    g_assert_cmpint(total, ==, PUSHERS * PUSHES_EACH);
    g_free(seen);
    g_free(elems);
}

/*
 * QSIMPLEQ
 */

static void test_qsimpleq_insert_remove(void)
{
    ElemSimpleQ h = QSIMPLEQ_HEAD_INITIALIZER(h);
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    CHECK_LIST(qsimpleq_str, &h, "");
    g_assert_true(QSIMPLEQ_EMPTY(&h));
    g_assert_true(QSIMPLEQ_EMPTY_ATOMIC(&h));

    QSIMPLEQ_INSERT_TAIL(&h, &e[2], sq);
    CHECK_LIST(qsimpleq_str, &h, "2");
    QSIMPLEQ_INSERT_HEAD(&h, &e[0], sq);
    QSIMPLEQ_INSERT_TAIL(&h, &e[4], sq);
    CHECK_LIST(qsimpleq_str, &h, "0 2 4");
    QSIMPLEQ_INSERT_AFTER(&h, &e[0], &e[1], sq);
    QSIMPLEQ_INSERT_AFTER(&h, &e[4], &e[5], sq);
    QSIMPLEQ_INSERT_AFTER(&h, &e[2], &e[3], sq);
    CHECK_LIST(qsimpleq_str, &h, "0 1 2 3 4 5");
    g_assert_false(QSIMPLEQ_EMPTY(&h));
    g_assert_false(QSIMPLEQ_EMPTY_ATOMIC(&h));
    g_assert_true(QSIMPLEQ_FIRST(&h) == &e[0]);
    g_assert_true(QSIMPLEQ_NEXT(&e[3], sq) == &e[4]);

    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    CHECK_LIST(qsimpleq_str, &h, "1 2 3 4 5");
    g_assert_null(e[0].sq.sqe_next);

    QSIMPLEQ_REMOVE(&h, &e[3], Elem, sq);
    CHECK_LIST(qsimpleq_str, &h, "1 2 4 5");
    g_assert_null(e[3].sq.sqe_next);
    QSIMPLEQ_REMOVE(&h, &e[5], Elem, sq);
    CHECK_LIST(qsimpleq_str, &h, "1 2 4");
    QSIMPLEQ_INSERT_TAIL(&h, &e[6], sq);
    CHECK_LIST(qsimpleq_str, &h, "1 2 4 6");
    QSIMPLEQ_REMOVE(&h, &e[1], Elem, sq);
    CHECK_LIST(qsimpleq_str, &h, "2 4 6");

    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    QSIMPLEQ_REMOVE_HEAD(&h, sq);
    CHECK_LIST(qsimpleq_str, &h, "");
    QSIMPLEQ_INSERT_TAIL(&h, &e[7], sq);
    CHECK_LIST(qsimpleq_str, &h, "7");

    QSIMPLEQ_INIT(&h);
    CHECK_LIST(qsimpleq_str, &h, "");
}

static void test_qsimpleq_foreach_safe(void)
{
    ElemSimpleQ h;
    Elem *e, *next;

    QSIMPLEQ_INIT(&h);
    for (int i = 0; i < N_ELEMS; i++) {
        e = g_new0(Elem, 1);
        e->val = i;
        QSIMPLEQ_INSERT_TAIL(&h, e, sq);
    }
    QSIMPLEQ_FOREACH_SAFE(e, &h, sq, next) {
        if (e->val >= 5 || e->val == 0) {
            QSIMPLEQ_REMOVE(&h, e, Elem, sq);
            g_free(e);
        }
    }
    CHECK_LIST(qsimpleq_str, &h, "1 2 3 4");
    QSIMPLEQ_FOREACH_SAFE(e, &h, sq, next) {
        QSIMPLEQ_REMOVE_HEAD(&h, sq);
        g_free(e);
    }
    CHECK_LIST(qsimpleq_str, &h, "");
}

static void fill_simpleq(ElemSimpleQ *h, Elem *e, int from, int to)
{
    QSIMPLEQ_INIT(h);
    for (int i = from; i <= to; i++) {
        QSIMPLEQ_INSERT_TAIL(h, &e[i], sq);
    }
}

static void test_qsimpleq_split_concat_prepend(void)
{
    ElemSimpleQ a, b;
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);

    fill_simpleq(&a, e, 0, 4);
    QSIMPLEQ_SPLIT_AFTER(&a, &e[1], sq, &b);
    CHECK_LIST(qsimpleq_str, &b, "0 1");
    CHECK_LIST(qsimpleq_str, &a, "2 3 4");

    QSIMPLEQ_SPLIT_AFTER(&a, &e[4], sq, &b);
    CHECK_LIST(qsimpleq_str, &b, "2 3 4");
    CHECK_LIST(qsimpleq_str, &a, "");

    QSIMPLEQ_SPLIT_AFTER(&a, &e[4], sq, &b);
    CHECK_LIST(qsimpleq_str, &b, "");
    CHECK_LIST(qsimpleq_str, &a, "");

    fill_simpleq(&a, e, 0, 2);
    fill_simpleq(&b, e, 3, 5);
    QSIMPLEQ_CONCAT(&a, &b);
    CHECK_LIST(qsimpleq_str, &a, "0 1 2 3 4 5");
    CHECK_LIST(qsimpleq_str, &b, "");
    QSIMPLEQ_CONCAT(&a, &b);
    CHECK_LIST(qsimpleq_str, &a, "0 1 2 3 4 5");
    QSIMPLEQ_CONCAT(&b, &a);
    CHECK_LIST(qsimpleq_str, &b, "0 1 2 3 4 5");
    CHECK_LIST(qsimpleq_str, &a, "");

    fill_simpleq(&a, e, 3, 5);
    fill_simpleq(&b, e, 0, 2);
    QSIMPLEQ_PREPEND(&a, &b);
    CHECK_LIST(qsimpleq_str, &a, "0 1 2 3 4 5");
    CHECK_LIST(qsimpleq_str, &b, "");
    QSIMPLEQ_PREPEND(&a, &b);
    CHECK_LIST(qsimpleq_str, &a, "0 1 2 3 4 5");

    /* Prepending into an empty queue must leave a usable tail pointer. */
    QSIMPLEQ_PREPEND(&b, &a);
    CHECK_LIST(qsimpleq_str, &b, "0 1 2 3 4 5");
    CHECK_LIST(qsimpleq_str, &a, "");
    QSIMPLEQ_INSERT_TAIL(&b, &e[6], sq);
    CHECK_LIST(qsimpleq_str, &b, "0 1 2 3 4 5 6");
}

/*
 * QTAILQ
 */

static void test_qtailq_insert_remove(void)
{
    ElemTailQ h = QTAILQ_HEAD_INITIALIZER(h);
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    CHECK_LIST(qtailq_str, &h, "");
    g_assert_true(QTAILQ_EMPTY(&h));
    g_assert_false(QTAILQ_IN_USE(&e[0], tq));

    QTAILQ_INSERT_TAIL(&h, &e[2], tq);
    CHECK_LIST(qtailq_str, &h, "2");
    QTAILQ_INSERT_HEAD(&h, &e[1], tq);
    QTAILQ_INSERT_TAIL(&h, &e[4], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 4");
    QTAILQ_INSERT_AFTER(&h, &e[2], &e[3], tq);
    QTAILQ_INSERT_AFTER(&h, &e[4], &e[6], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 3 4 6");
    QTAILQ_INSERT_BEFORE(&e[1], &e[0], tq);
    QTAILQ_INSERT_BEFORE(&e[6], &e[5], tq);
    CHECK_LIST(qtailq_str, &h, "0 1 2 3 4 5 6");
    g_assert_false(QTAILQ_EMPTY(&h));
    g_assert_true(QTAILQ_FIRST(&h) == &e[0]);
    g_assert_true(QTAILQ_LAST(&h) == &e[6]);
    g_assert_true(QTAILQ_NEXT(&e[2], tq) == &e[3]);
    g_assert_true(QTAILQ_PREV(&e[2], tq) == &e[1]);

    QTAILQ_REMOVE(&h, &e[0], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 3 4 5 6");
    g_assert_false(QTAILQ_IN_USE(&e[0], tq));
    g_assert_null(e[0].tq.tqe_next);
    QTAILQ_REMOVE(&h, &e[6], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 3 4 5");
    g_assert_true(QTAILQ_LAST(&h) == &e[5]);
    QTAILQ_REMOVE(&h, &e[3], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 4 5");
    g_assert_false(QTAILQ_IN_USE(&e[3], tq));
    g_assert_true(QTAILQ_IN_USE(&e[4], tq));

    /* An element can go back on after removal. */
    QTAILQ_INSERT_TAIL(&h, &e[0], tq);
    CHECK_LIST(qtailq_str, &h, "1 2 4 5 0");

    QTAILQ_REMOVE(&h, &e[1], tq);
    QTAILQ_REMOVE(&h, &e[2], tq);
    QTAILQ_REMOVE(&h, &e[4], tq);
    QTAILQ_REMOVE(&h, &e[5], tq);
    QTAILQ_REMOVE(&h, &e[0], tq);
    CHECK_LIST(qtailq_str, &h, "");

    QTAILQ_INIT(&h);
    CHECK_LIST(qtailq_str, &h, "");
}

static void test_qtailq_zero_head(void)
{
    static ElemTailQ h;
    Elem e[N_ELEMS];

    init_elems(e, N_ELEMS);
    g_assert_true(QTAILQ_EMPTY(&h));
    QTAILQ_INSERT_HEAD(&h, &e[1], tq);
    QTAILQ_INSERT_TAIL(&h, &e[2], tq);
    QTAILQ_INSERT_HEAD(&h, &e[0], tq);
    CHECK_LIST(qtailq_str, &h, "0 1 2");
}

static void test_qtailq_foreach_safe(void)
{
    ElemTailQ h;
    Elem *e, *other;
    int n = 0;

    QTAILQ_INIT(&h);
    for (int i = 0; i < N_ELEMS; i++) {
        e = g_new0(Elem, 1);
        e->val = i;
        QTAILQ_INSERT_TAIL(&h, e, tq);
    }

    QTAILQ_FOREACH_SAFE(e, &h, tq, other) {
        if (e->val & 1) {
            QTAILQ_REMOVE(&h, e, tq);
            g_free(e);
        }
    }
    CHECK_LIST(qtailq_str, &h, "0 2 4 6");

    QTAILQ_FOREACH_REVERSE_SAFE(e, &h, tq, other) {
        g_assert_cmpint(e->val, ==, 6 - 2 * n);
        QTAILQ_REMOVE(&h, e, tq);
        g_free(e);
        n++;
        if (!QTAILQ_EMPTY(&h)) {
            g_assert_true(QTAILQ_LAST(&h) == other);
        }
    }
    g_assert_cmpint(n, ==, 4);
    CHECK_LIST(qtailq_str, &h, "");
}

static void test_qtailq_remove_several(void)
{
    ElemTailQ h;
    Elem e[N_ELEMS];
    Elem *x;
    int n = 0;

    init_elems(e, N_ELEMS);
    QTAILQ_INIT(&h);
    for (int i = 0; i < 6; i++) {
        QTAILQ_INSERT_TAIL(&h, &e[i], tq);
    }

    QTAILQ_REMOVE_SEVERAL(&h, &e[1], &e[3], tq);
    CHECK_LIST(qtailq_str, &h, "0 4 5");
    /* The detached run is still linked from left to right. */
    for (x = &e[1]; x != &e[4]; x = QTAILQ_NEXT(x, tq)) {
        g_assert_cmpint(x->val, ==, 1 + n++);
    }
    g_assert_cmpint(n, ==, 3);

    QTAILQ_REMOVE_SEVERAL(&h, &e[5], &e[5], tq);
    CHECK_LIST(qtailq_str, &h, "0 4");
    QTAILQ_REMOVE_SEVERAL(&h, &e[0], &e[4], tq);
    CHECK_LIST(qtailq_str, &h, "");
}

static void test_qtailq_raw(void)
{
    ElemTailQ h;
    Elem e[N_ELEMS];
    const size_t off = offsetof(Elem, tq);
    void *raw;
    int n = 0;

    init_elems(e, N_ELEMS);
    QTAILQ_INIT(&h);
    QTAILQ_RAW_INSERT_TAIL(&h, &e[0], off);
    QTAILQ_INSERT_TAIL(&h, &e[1], tq);
    QTAILQ_RAW_INSERT_TAIL(&h, &e[2], off);
    CHECK_LIST(qtailq_str, &h, "0 1 2");

    g_assert_true(*QTAILQ_RAW_FIRST(&h) == &e[0]);
    g_assert_true(QTAILQ_RAW_TQH_CIRC(&h) == &h.tqh_circ);
    g_assert_true(*QTAILQ_RAW_NEXT(&e[0], off) == &e[1]);
    g_assert_true(QTAILQ_RAW_TQE_CIRC(&e[2], off) == &e[2].tq.tqe_circ);

    QTAILQ_RAW_FOREACH(raw, &h, off) {
        g_assert_true(raw == &e[n]);
        n++;
    }
    g_assert_cmpint(n, ==, 3);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/queue/qlist/insert-remove", test_qlist_insert_remove);
    g_test_add_func("/queue/qlist/foreach-safe", test_qlist_foreach_safe);
    g_test_add_func("/queue/qlist/swap", test_qlist_swap);
    g_test_add_func("/queue/qlist/raw", test_qlist_raw);

    g_test_add_func("/queue/qslist/insert-remove", test_qslist_insert_remove);
    g_test_add_func("/queue/qslist/foreach-safe", test_qslist_foreach_safe);
    g_test_add_func("/queue/qslist/atomic-single", test_qslist_atomic_single);
    g_test_add_func("/queue/qslist/atomic-concurrent",
                    test_qslist_atomic_concurrent);

    g_test_add_func("/queue/qsimpleq/insert-remove",
                    test_qsimpleq_insert_remove);
    g_test_add_func("/queue/qsimpleq/foreach-safe",
                    test_qsimpleq_foreach_safe);
    g_test_add_func("/queue/qsimpleq/split-concat-prepend",
                    test_qsimpleq_split_concat_prepend);

    g_test_add_func("/queue/qtailq/insert-remove", test_qtailq_insert_remove);
    g_test_add_func("/queue/qtailq/zero-head", test_qtailq_zero_head);
    g_test_add_func("/queue/qtailq/foreach-safe", test_qtailq_foreach_safe);
    g_test_add_func("/queue/qtailq/remove-several",
                    test_qtailq_remove_several);
    g_test_add_func("/queue/qtailq/raw", test_qtailq_raw);

    return g_test_run();
}
