/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * RCU variants of the queue.h macros, with QEMU's names and arguments.
 *
 * Readers walk forward only, inside rcu_read_lock(), with the *_RCU
 * accessors and FOREACH macros.  Updaters must be serialised against
 * each other (a mutex, the BQL, ...) and must not free a removed element
 * until a grace period has passed (synchronize_rcu() or call_rcu()).
 *
 * Only forward pointers (le_next, sle_next, sqe_next, tqe_next and the
 * head's first pointer) are shared with readers.  le_prev, sqh_last and
 * tql_prev belong to the updater and use plain accesses.
 *
 * Ordering: each insertion fills in the new element completely and then
 * makes it reachable with one qatomic_rcu_set() (a release store); every
 * forward pointer a reader follows is loaded with qatomic_rcu_read()
 * (consume/acquire), and the two pair up.  Removals also store with
 * qatomic_rcu_set(): the successor that becomes reachable through the
 * new pointer may have been linked in by the same updater just before,
 * with no other barrier in between, and a relaxed store could then be
 * seen before that successor's contents.  Removal never touches the
 * removed element's forward pointer, so a reader standing on it can
 * carry on.
 */
#ifndef QEMU_RCU_QUEUE_H
#define QEMU_RCU_QUEUE_H

#include "qemu/queue.h"
#include "qemu/atomic.h"

/*
 * The *_EMPTY_RCU() tests use a relaxed load: they only compare the
 * pointer with NULL and reach nothing through it, so there is nothing
 * for them to order.
 */

/*
 * QLIST
 */

/* FIRST/NEXT pair with the qatomic_rcu_set() of the updates below. */
#define QLIST_EMPTY_RCU(head) (qatomic_read(&(head)->lh_first) == NULL)
#define QLIST_FIRST_RCU(head) (qatomic_rcu_read(&(head)->lh_first))
#define QLIST_NEXT_RCU(elm, field) (qatomic_rcu_read(&(elm)->field.le_next))

/* Publication pairs with qatomic_rcu_read() in QLIST_FOREACH_RCU. */
#define QLIST_INSERT_HEAD_RCU(head, elm, field) do {                    \
    (elm)->field.le_next = (head)->lh_first;                            \
    (elm)->field.le_prev = &(head)->lh_first;                           \
    qatomic_rcu_set(&(head)->lh_first, (elm));                          \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                   \
} while (0)

/* Publication pairs with qatomic_rcu_read() in QLIST_FOREACH_RCU. */
#define QLIST_INSERT_AFTER_RCU(listelm, elm, field) do {                \
    (elm)->field.le_next = (listelm)->field.le_next;                    \
    (elm)->field.le_prev = &(listelm)->field.le_next;                   \
    qatomic_rcu_set(&(listelm)->field.le_next, (elm));                  \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                   \
} while (0)

/*
 * Publication through the predecessor's forward pointer pairs with
 * qatomic_rcu_read() in QLIST_FOREACH_RCU.
 */
#define QLIST_INSERT_BEFORE_RCU(listelm, elm, field) do {               \
    (elm)->field.le_next = (listelm);                                   \
    (elm)->field.le_prev = (listelm)->field.le_prev;                    \
    qatomic_rcu_set((elm)->field.le_prev, (elm));                       \
    (listelm)->field.le_prev = &(elm)->field.le_next;                   \
} while (0)

/*
 * elm keeps both links (QLIST_IS_INSERTED() stays true) so that readers
 * already on it can continue.  The release store pairs with
 * qatomic_rcu_read() in QLIST_FOREACH_RCU (see the top of the file).
 */
#define QLIST_REMOVE_RCU(elm, field) do {                               \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;     \
    }                                                                   \
    qatomic_rcu_set((elm)->field.le_prev, (elm)->field.le_next);        \
} while (0)

/* Must run inside an RCU read-side critical section. */
#define QLIST_FOREACH_RCU(var, head, field)                             \
    for ((var) = qatomic_rcu_read(&(head)->lh_first);                   \
         (var) != NULL;                                                 \
         (var) = qatomic_rcu_read(&(var)->field.le_next))

/* Must run inside an RCU read-side critical section. */
#define QLIST_FOREACH_SAFE_RCU(var, head, field, next_var)              \
    for ((var) = qatomic_rcu_read(&(head)->lh_first);                   \
         (var) != NULL &&                                               \
         ((next_var) = qatomic_rcu_read(&(var)->field.le_next), true);  \
         (var) = (next_var))

/*
 * QSIMPLEQ
 */

/* FIRST/NEXT pair with the qatomic_rcu_set() of the updates below. */
#define QSIMPLEQ_EMPTY_RCU(head) (qatomic_read(&(head)->sqh_first) == NULL)
#define QSIMPLEQ_FIRST_RCU(head) qatomic_rcu_read(&(head)->sqh_first)
#define QSIMPLEQ_NEXT_RCU(elm, field)                                   \
    qatomic_rcu_read(&(elm)->field.sqe_next)

/* Publication pairs with qatomic_rcu_read() in QSIMPLEQ_FOREACH_RCU. */
#define QSIMPLEQ_INSERT_HEAD_RCU(head, elm, field) do {                 \
    (elm)->field.sqe_next = (head)->sqh_first;                          \
    if ((elm)->field.sqe_next == NULL) {                                \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    qatomic_rcu_set(&(head)->sqh_first, (elm));                         \
} while (0)

/* Publication pairs with qatomic_rcu_read() in QSIMPLEQ_FOREACH_RCU. */
#define QSIMPLEQ_INSERT_TAIL_RCU(head, elm, field) do {                 \
    (elm)->field.sqe_next = NULL;                                       \
    qatomic_rcu_set((head)->sqh_last, (elm));                           \
    (head)->sqh_last = &(elm)->field.sqe_next;                          \
} while (0)

/* Publication pairs with qatomic_rcu_read() in QSIMPLEQ_FOREACH_RCU. */
#define QSIMPLEQ_INSERT_AFTER_RCU(head, listelm, elm, field) do {       \
    (elm)->field.sqe_next = (listelm)->field.sqe_next;                  \
    if ((elm)->field.sqe_next == NULL) {                                \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    qatomic_rcu_set(&(listelm)->field.sqe_next, (elm));                 \
} while (0)

/*
 * The removed element keeps its sqe_next.  The release store pairs with
 * qatomic_rcu_read() in QSIMPLEQ_FOREACH_RCU (see the top of the file).
 */
#define QSIMPLEQ_REMOVE_HEAD_RCU(head, field) do {                      \
    __typeof__((head)->sqh_first) qsqr_next_ =                          \
        (head)->sqh_first->field.sqe_next;                              \
    qatomic_rcu_set(&(head)->sqh_first, qsqr_next_);                    \
    if (qsqr_next_ == NULL) {                                           \
        (head)->sqh_last = &(head)->sqh_first;                          \
    }                                                                   \
} while (0)

/* As QSIMPLEQ_REMOVE_HEAD_RCU(), for any element on the queue. */
#define QSIMPLEQ_REMOVE_RCU(head, elm, type, field) do {                \
    struct type **qsqr_link_ = &(head)->sqh_first;                      \
    while (*qsqr_link_ != (elm)) {                                      \
        qsqr_link_ = &(*qsqr_link_)->field.sqe_next;                    \
    }                                                                   \
    qatomic_rcu_set(qsqr_link_, (elm)->field.sqe_next);                 \
    if ((elm)->field.sqe_next == NULL) {                                \
        (head)->sqh_last = qsqr_link_;                                  \
    }                                                                   \
} while (0)

/* Must run inside an RCU read-side critical section. */
#define QSIMPLEQ_FOREACH_RCU(var, head, field)                          \
    for ((var) = qatomic_rcu_read(&(head)->sqh_first);                  \
         (var) != NULL;                                                 \
         (var) = qatomic_rcu_read(&(var)->field.sqe_next))

/* Must run inside an RCU read-side critical section. */
#define QSIMPLEQ_FOREACH_SAFE_RCU(var, head, field, next)               \
    for ((var) = qatomic_rcu_read(&(head)->sqh_first);                  \
         (var) != NULL &&                                               \
         ((next) = qatomic_rcu_read(&(var)->field.sqe_next), true);     \
         (var) = (next))

/*
 * QTAILQ
 *
 * tql_next aliases tqe_next, so a release store through a QTailQLink
 * publishes to readers loading the typed tqe_next/tqh_first.
 */

/* FIRST/NEXT pair with the qatomic_rcu_set() of the updates below. */
#define QTAILQ_EMPTY_RCU(head) (qatomic_read(&(head)->tqh_first) == NULL)
#define QTAILQ_FIRST_RCU(head) qatomic_rcu_read(&(head)->tqh_first)
#define QTAILQ_NEXT_RCU(elm, field)                                     \
    qatomic_rcu_read(&(elm)->field.tqe_next)

/*
 * Publication pairs with qatomic_rcu_read() in QTAILQ_FOREACH_RCU.  The
 * head's tql_prev is not read first, so this works on a zero-filled head.
 */
#define QTAILQ_INSERT_HEAD_RCU(head, elm, field) do {                   \
    (elm)->field.tqe_next = (head)->tqh_first;                          \
    (elm)->field.tqe_circ.tql_prev = &(head)->tqh_circ;                 \
    if ((elm)->field.tqe_next != NULL) {                                \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    qatomic_rcu_set(&(head)->tqh_first, (elm));                         \
} while (0)

/* Publication pairs with qatomic_rcu_read() in QTAILQ_FOREACH_RCU. */
#define QTAILQ_INSERT_TAIL_RCU(head, elm, field) do {                   \
    QTailQLink *qtqr_last_ = (head)->tqh_circ.tql_prev;                 \
    (elm)->field.tqe_next = NULL;                                       \
    (elm)->field.tqe_circ.tql_prev = qtqr_last_;                        \
    (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                 \
    qatomic_rcu_set(&qtqr_last_->tql_next, (elm));                      \
} while (0)

/* Publication pairs with qatomic_rcu_read() in QTAILQ_FOREACH_RCU. */
#define QTAILQ_INSERT_AFTER_RCU(head, listelm, elm, field) do {         \
    (elm)->field.tqe_next = (listelm)->field.tqe_next;                  \
    (elm)->field.tqe_circ.tql_prev = &(listelm)->field.tqe_circ;        \
    if ((elm)->field.tqe_next != NULL) {                                \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    qatomic_rcu_set(&(listelm)->field.tqe_next, (elm));                 \
} while (0)

/*
 * Publication through the predecessor's link pairs with qatomic_rcu_read()
 * in QTAILQ_FOREACH_RCU.
 */
#define QTAILQ_INSERT_BEFORE_RCU(listelm, elm, field) do {              \
    (elm)->field.tqe_next = (listelm);                                  \
    (elm)->field.tqe_circ.tql_prev = (listelm)->field.tqe_circ.tql_prev; \
    (listelm)->field.tqe_circ.tql_prev = &(elm)->field.tqe_circ;        \
    qatomic_rcu_set(&(elm)->field.tqe_circ.tql_prev->tql_next, (elm));  \
} while (0)

/*
 * Only tql_prev is cleared (so QTAILQ_IN_USE() turns false); tqe_next
 * stays for readers still on elm.  The release store pairs with
 * qatomic_rcu_read() in QTAILQ_FOREACH_RCU (see the top of the file).
 */
#define QTAILQ_REMOVE_RCU(head, elm, field) do {                        \
    if ((elm)->field.tqe_next != NULL) {                                \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            (elm)->field.tqe_circ.tql_prev;                             \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = (elm)->field.tqe_circ.tql_prev;     \
    }                                                                   \
    qatomic_rcu_set(&(elm)->field.tqe_circ.tql_prev->tql_next,          \
                    (elm)->field.tqe_next);                             \
    (elm)->field.tqe_circ.tql_prev = NULL;                              \
} while (0)

/* Must run inside an RCU read-side critical section. */
#define QTAILQ_FOREACH_RCU(var, head, field)                            \
    for ((var) = qatomic_rcu_read(&(head)->tqh_first);                  \
         (var) != NULL;                                                 \
         (var) = qatomic_rcu_read(&(var)->field.tqe_next))

/* Must run inside an RCU read-side critical section. */
#define QTAILQ_FOREACH_SAFE_RCU(var, head, field, next)                 \
    for ((var) = qatomic_rcu_read(&(head)->tqh_first);                  \
         (var) != NULL &&                                               \
         ((next) = qatomic_rcu_read(&(var)->field.tqe_next), true);     \
         (var) = (next))

/*
 * QSLIST
 */

/* FIRST/NEXT pair with the qatomic_rcu_set() of the updates below. */
#define QSLIST_EMPTY_RCU(head) (qatomic_read(&(head)->slh_first) == NULL)
#define QSLIST_FIRST_RCU(head) qatomic_rcu_read(&(head)->slh_first)
#define QSLIST_NEXT_RCU(elm, field)                                     \
    qatomic_rcu_read(&(elm)->field.sle_next)

/* Publication pairs with qatomic_rcu_read() in QSLIST_FOREACH_RCU. */
#define QSLIST_INSERT_HEAD_RCU(head, elm, field) do {                   \
    (elm)->field.sle_next = (head)->slh_first;                          \
    qatomic_rcu_set(&(head)->slh_first, (elm));                         \
} while (0)

/* head is unused; publication pairs with QSLIST_FOREACH_RCU. */
#define QSLIST_INSERT_AFTER_RCU(head, listelm, elm, field) do {         \
    (elm)->field.sle_next = (listelm)->field.sle_next;                  \
    qatomic_rcu_set(&(listelm)->field.sle_next, (elm));                 \
} while (0)

/*
 * The removed element keeps its sle_next.  The release store pairs with
 * qatomic_rcu_read() in QSLIST_FOREACH_RCU (see the top of the file).
 */
#define QSLIST_REMOVE_HEAD_RCU(head, field) do {                        \
    qatomic_rcu_set(&(head)->slh_first,                                 \
                    (head)->slh_first->field.sle_next);                 \
} while (0)

/* As QSLIST_REMOVE_HEAD_RCU(), for any element on the list. */
#define QSLIST_REMOVE_RCU(head, elm, type, field) do {                  \
    struct type **qslr_link_ = &(head)->slh_first;                      \
    while (*qslr_link_ != (elm)) {                                      \
        qslr_link_ = &(*qslr_link_)->field.sle_next;                    \
    }                                                                   \
    qatomic_rcu_set(qslr_link_, (elm)->field.sle_next);                 \
} while (0)

/* Must run inside an RCU read-side critical section. */
#define QSLIST_FOREACH_RCU(var, head, field)                            \
    for ((var) = qatomic_rcu_read(&(head)->slh_first);                  \
         (var) != NULL;                                                 \
         (var) = qatomic_rcu_read(&(var)->field.sle_next))

/* Must run inside an RCU read-side critical section. */
#define QSLIST_FOREACH_SAFE_RCU(var, head, field, next)                 \
    for ((var) = qatomic_rcu_read(&(head)->slh_first);                  \
         (var) != NULL &&                                               \
         ((next) = qatomic_rcu_read(&(var)->field.sle_next), true);     \
         (var) = (next))

#endif /* QEMU_RCU_QUEUE_H */
