/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Intrusive list macros with QEMU's names, arguments and field layout.
 *
 *   QLIST     doubly linked, O(1) removal, one-pointer head
 *   QSLIST    singly linked, cheapest, removal walks from the head
 *   QSIMPLEQ  singly linked with a tail pointer, O(1) append
 *   QTAILQ    doubly linked with a tail pointer, reverse traversal
 *
 * Callers embed a *_ENTRY() in their element struct and declare a head
 * with *_HEAD(); many of them read the fields below directly, so their
 * names and order are part of the interface.
 */
#ifndef QEMU_SYS_QUEUE_H
#define QEMU_SYS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include "qemu/atomic.h"

/*
 * QLIST
 */

#define QLIST_HEAD(name, type)                                          \
struct name {                                                           \
    struct type *lh_first;                                              \
}

#define QLIST_HEAD_INITIALIZER(head) { NULL }

/* le_prev holds the address of the pointer that points at this element. */
#define QLIST_ENTRY(type)                                               \
struct {                                                                \
    struct type *le_next;                                               \
    struct type **le_prev;                                              \
}

#define QLIST_INIT(head) do {                                           \
    (head)->lh_first = NULL;                                            \
} while (0)

/* The two heads may be of different struct types with one element type. */
#define QLIST_SWAP(dstlist, srclist, field) do {                        \
    void *qls_tmp_ = (dstlist)->lh_first;                               \
    (dstlist)->lh_first = (srclist)->lh_first;                          \
    (srclist)->lh_first = qls_tmp_;                                     \
    if ((dstlist)->lh_first != NULL) {                                  \
        (dstlist)->lh_first->field.le_prev = &(dstlist)->lh_first;      \
    }                                                                   \
    if ((srclist)->lh_first != NULL) {                                  \
        (srclist)->lh_first->field.le_prev = &(srclist)->lh_first;      \
    }                                                                   \
} while (0)

#define QLIST_INSERT_HEAD(head, elm, field) do {                        \
    (elm)->field.le_next = (head)->lh_first;                            \
    (elm)->field.le_prev = &(head)->lh_first;                           \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                   \
    (head)->lh_first = (elm);                                           \
} while (0)

#define QLIST_INSERT_AFTER(listelm, elm, field) do {                    \
    (elm)->field.le_next = (listelm)->field.le_next;                    \
    (elm)->field.le_prev = &(listelm)->field.le_next;                   \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                   \
    (listelm)->field.le_next = (elm);                                   \
} while (0)

#define QLIST_INSERT_BEFORE(listelm, elm, field) do {                   \
    (elm)->field.le_next = (listelm);                                   \
    (elm)->field.le_prev = (listelm)->field.le_prev;                    \
    *(elm)->field.le_prev = (elm);                                      \
    (listelm)->field.le_prev = &(elm)->field.le_next;                   \
} while (0)

/* Leaves both links NULL, so QLIST_IS_INSERTED() turns false. */
#define QLIST_REMOVE(elm, field) do {                                   \
    if ((elm)->field.le_next != NULL) {                                 \
        (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;     \
    }                                                                   \
    *(elm)->field.le_prev = (elm)->field.le_next;                       \
    (elm)->field.le_next = NULL;                                        \
    (elm)->field.le_prev = NULL;                                        \
} while (0)

/* QLIST_REMOVE() that is a no-op for an element not on any list. */
#define QLIST_SAFE_REMOVE(elm, field) do {                              \
    if (QLIST_IS_INSERTED(elm, field)) {                                \
        QLIST_REMOVE(elm, field);                                       \
    }                                                                   \
} while (0)

#define QLIST_IS_INSERTED(elm, field) ((elm)->field.le_prev != NULL)

#define QLIST_FOREACH(var, head, field)                                 \
    for ((var) = (head)->lh_first;                                      \
         (var) != NULL;                                                 \
         (var) = (var)->field.le_next)

/* The body may unlink or free var. */
#define QLIST_FOREACH_SAFE(var, head, field, next_var)                  \
    for ((var) = (head)->lh_first;                                      \
         (var) != NULL && ((next_var) = (var)->field.le_next, true);    \
         (var) = (next_var))

#define QLIST_EMPTY(head)               ((head)->lh_first == NULL)
#define QLIST_FIRST(head)               ((head)->lh_first)
#define QLIST_NEXT(elm, field)          ((elm)->field.le_next)

/*
 * QSLIST
 */

#define QSLIST_HEAD(name, type)                                         \
struct name {                                                           \
    struct type *slh_first;                                             \
}

#define QSLIST_HEAD_INITIALIZER(head) { NULL }

#define QSLIST_ENTRY(type)                                              \
struct {                                                                \
    struct type *sle_next;                                              \
}

#define QSLIST_INIT(head) do {                                          \
    (head)->slh_first = NULL;                                           \
} while (0)

#define QSLIST_INSERT_HEAD(head, elm, field) do {                       \
    (elm)->field.sle_next = (head)->slh_first;                          \
    (head)->slh_first = (elm);                                          \
} while (0)

#define QSLIST_INSERT_AFTER(slistelm, elm, field) do {                  \
    (elm)->field.sle_next = (slistelm)->field.sle_next;                 \
    (slistelm)->field.sle_next = (elm);                                 \
} while (0)

/*
 * Lock-free push, safe against concurrent pushers and QSLIST_MOVE_ATOMIC.
 * The cmpxchg is a full barrier, so sle_next is visible before elm is;
 * that pairs with the xchg in QSLIST_MOVE_ATOMIC().
 */
#define QSLIST_INSERT_HEAD_ATOMIC(head, elm, field) do {                \
    __typeof__((head)->slh_first) qsl_seen_ =                           \
        qatomic_read(&(head)->slh_first);                               \
    __typeof__((head)->slh_first) qsl_expect_;                          \
    do {                                                                \
        qsl_expect_ = qsl_seen_;                                        \
        (elm)->field.sle_next = qsl_expect_;                            \
        qsl_seen_ = qatomic_cmpxchg(&(head)->slh_first, qsl_expect_,    \
                                    (elm));                             \
    } while (qsl_seen_ != qsl_expect_);                                 \
} while (0)

/*
 * Detach the whole of src into dest (dest's old contents are dropped).
 * The xchg is a full barrier and pairs with the cmpxchg of the pushers.
 */
#define QSLIST_MOVE_ATOMIC(dest, src) do {                              \
    (dest)->slh_first = qatomic_xchg(&(src)->slh_first, NULL);          \
} while (0)

#define QSLIST_REMOVE_HEAD(head, field) do {                            \
    __typeof__((head)->slh_first) qsl_old_ = (head)->slh_first;         \
    (head)->slh_first = qsl_old_->field.sle_next;                       \
    qsl_old_->field.sle_next = NULL;                                    \
} while (0)

#define QSLIST_REMOVE_AFTER(slistelm, field) do {                       \
    __typeof__((slistelm)->field.sle_next) qsl_old_ =                   \
        (slistelm)->field.sle_next;                                     \
    (slistelm)->field.sle_next = qsl_old_->field.sle_next;              \
    qsl_old_->field.sle_next = NULL;                                    \
} while (0)

/* O(n); elm must be on the list. */
#define QSLIST_REMOVE(head, elm, type, field) do {                      \
    struct type **qsl_link_ = &(head)->slh_first;                       \
    while (*qsl_link_ != (elm)) {                                       \
        qsl_link_ = &(*qsl_link_)->field.sle_next;                      \
    }                                                                   \
    *qsl_link_ = (elm)->field.sle_next;                                 \
    (elm)->field.sle_next = NULL;                                       \
} while (0)

#define QSLIST_FOREACH(var, head, field)                                \
    for ((var) = (head)->slh_first;                                     \
         (var) != NULL;                                                 \
         (var) = (var)->field.sle_next)

#define QSLIST_FOREACH_SAFE(var, head, field, tvar)                     \
    for ((var) = (head)->slh_first;                                     \
         (var) != NULL && ((tvar) = (var)->field.sle_next, true);       \
         (var) = (tvar))

#define QSLIST_EMPTY(head)              ((head)->slh_first == NULL)
#define QSLIST_FIRST(head)              ((head)->slh_first)
#define QSLIST_NEXT(elm, field)         ((elm)->field.sle_next)

/*
 * QSIMPLEQ
 */

/* sqh_last holds the address of the last next pointer (or of sqh_first). */
#define QSIMPLEQ_HEAD(name, type)                                       \
struct name {                                                           \
    struct type *sqh_first;                                             \
    struct type **sqh_last;                                             \
}

#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }

#define QSIMPLEQ_ENTRY(type)                                            \
struct {                                                                \
    struct type *sqe_next;                                              \
}

#define QSIMPLEQ_INIT(head) do {                                        \
    (head)->sqh_first = NULL;                                           \
    (head)->sqh_last = &(head)->sqh_first;                              \
} while (0)

#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                     \
    (elm)->field.sqe_next = (head)->sqh_first;                          \
    if ((elm)->field.sqe_next == NULL) {                                \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    (head)->sqh_first = (elm);                                          \
} while (0)

#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                     \
    (elm)->field.sqe_next = NULL;                                       \
    *(head)->sqh_last = (elm);                                          \
    (head)->sqh_last = &(elm)->field.sqe_next;                          \
} while (0)

#define QSIMPLEQ_INSERT_AFTER(head, listelm, elm, field) do {           \
    (elm)->field.sqe_next = (listelm)->field.sqe_next;                  \
    if ((elm)->field.sqe_next == NULL) {                                \
        (head)->sqh_last = &(elm)->field.sqe_next;                      \
    }                                                                   \
    (listelm)->field.sqe_next = (elm);                                  \
} while (0)

#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                          \
    __typeof__((head)->sqh_first) qsq_old_ = (head)->sqh_first;         \
    (head)->sqh_first = qsq_old_->field.sqe_next;                       \
    if ((head)->sqh_first == NULL) {                                    \
        (head)->sqh_last = &(head)->sqh_first;                          \
    }                                                                   \
    qsq_old_->field.sqe_next = NULL;                                    \
} while (0)

/*
 * Move everything up to and including elm into removed (which is
 * reinitialised); head keeps what followed elm.
 */
#define QSIMPLEQ_SPLIT_AFTER(head, elm, field, removed) do {            \
    if (QSIMPLEQ_EMPTY(head)) {                                         \
        QSIMPLEQ_INIT(removed);                                         \
    } else {                                                            \
        (removed)->sqh_first = (head)->sqh_first;                       \
        (removed)->sqh_last = &(elm)->field.sqe_next;                   \
        (head)->sqh_first = (elm)->field.sqe_next;                      \
        if ((head)->sqh_first == NULL) {                                \
            (head)->sqh_last = &(head)->sqh_first;                      \
        }                                                               \
        (elm)->field.sqe_next = NULL;                                   \
    }                                                                   \
} while (0)

/* O(n); elm must be on the list. */
#define QSIMPLEQ_REMOVE(head, elm, type, field) do {                    \
    struct type **qsq_link_ = &(head)->sqh_first;                       \
    while (*qsq_link_ != (elm)) {                                       \
        qsq_link_ = &(*qsq_link_)->field.sqe_next;                      \
    }                                                                   \
    *qsq_link_ = (elm)->field.sqe_next;                                 \
    if (*qsq_link_ == NULL) {                                           \
        (head)->sqh_last = qsq_link_;                                   \
    }                                                                   \
    (elm)->field.sqe_next = NULL;                                       \
} while (0)

#define QSIMPLEQ_FOREACH(var, head, field)                              \
    for ((var) = (head)->sqh_first;                                     \
         (var) != NULL;                                                 \
         (var) = (var)->field.sqe_next)

#define QSIMPLEQ_FOREACH_SAFE(var, head, field, next)                   \
    for ((var) = (head)->sqh_first;                                     \
         (var) != NULL && ((next) = (var)->field.sqe_next, true);       \
         (var) = (next))

/* Append all of head2 to head1, leaving head2 empty. */
#define QSIMPLEQ_CONCAT(head1, head2) do {                              \
    if (!QSIMPLEQ_EMPTY(head2)) {                                       \
        *(head1)->sqh_last = (head2)->sqh_first;                        \
        (head1)->sqh_last = (head2)->sqh_last;                          \
        QSIMPLEQ_INIT(head2);                                           \
    }                                                                   \
} while (0)

/* Put all of head2 in front of head1, leaving head2 empty. */
#define QSIMPLEQ_PREPEND(head1, head2) do {                             \
    if (!QSIMPLEQ_EMPTY(head2)) {                                       \
        if (QSIMPLEQ_EMPTY(head1)) {                                    \
            (head1)->sqh_last = (head2)->sqh_last;                      \
        }                                                               \
        *(head2)->sqh_last = (head1)->sqh_first;                        \
        (head1)->sqh_first = (head2)->sqh_first;                        \
        QSIMPLEQ_INIT(head2);                                           \
    }                                                                   \
} while (0)

#define QSIMPLEQ_LAST(head, type, field)                                \
    (QSIMPLEQ_EMPTY(head) ? NULL :                                      \
     (struct type *)(void *)((char *)(head)->sqh_last -                 \
                             offsetof(struct type, field.sqe_next)))

/* For a lockless "anything queued?" check; nothing is dereferenced. */
#define QSIMPLEQ_EMPTY_ATOMIC(head)                                     \
    (qatomic_read(&(head)->sqh_first) == NULL)
#define QSIMPLEQ_EMPTY(head)            ((head)->sqh_first == NULL)
#define QSIMPLEQ_FIRST(head)            ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field)       ((elm)->field.sqe_next)

/*
 * QTAILQ
 *
 * Heads and entries are unions of a typed forward pointer and an untyped
 * QTailQLink whose tql_next aliases it.  tql_prev points at the link of
 * the previous element, or at the head's link for the first element;
 * the head's tql_prev points at the last element's link (or back at the
 * head when empty).  So the backward chain is circular while the forward
 * chain ends in NULL, and a head can be zero-filled as long as its first
 * insertion is at the head.
 */
typedef struct QTailQLink {
    void *tql_next;
    struct QTailQLink *tql_prev;
} QTailQLink;

#define QTAILQ_HEAD(name, type)                                         \
union name {                                                            \
    struct type *tqh_first;                                             \
    QTailQLink tqh_circ;                                                \
}

#define QTAILQ_HEAD_INITIALIZER(head)                                   \
    { .tqh_circ = { NULL, &(head).tqh_circ } }

#define QTAILQ_ENTRY(type)                                              \
union {                                                                 \
    struct type *tqe_next;                                              \
    QTailQLink tqe_circ;                                                \
}

#define QTAILQ_INIT(head) do {                                          \
    (head)->tqh_first = NULL;                                           \
    (head)->tqh_circ.tql_prev = &(head)->tqh_circ;                      \
} while (0)

#define QTAILQ_INSERT_HEAD(head, elm, field) do {                       \
    (elm)->field.tqe_next = (head)->tqh_first;                          \
    (elm)->field.tqe_circ.tql_prev = &(head)->tqh_circ;                 \
    if ((head)->tqh_first != NULL) {                                    \
        (head)->tqh_first->field.tqe_circ.tql_prev =                    \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    (head)->tqh_first = (elm);                                          \
} while (0)

#define QTAILQ_INSERT_TAIL(head, elm, field) do {                       \
    (elm)->field.tqe_next = NULL;                                       \
    (elm)->field.tqe_circ.tql_prev = (head)->tqh_circ.tql_prev;         \
    (head)->tqh_circ.tql_prev->tql_next = (elm);                        \
    (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                 \
} while (0)

#define QTAILQ_INSERT_AFTER(head, listelm, elm, field) do {             \
    (elm)->field.tqe_next = (listelm)->field.tqe_next;                  \
    (elm)->field.tqe_circ.tql_prev = &(listelm)->field.tqe_circ;        \
    if ((elm)->field.tqe_next != NULL) {                                \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            &(elm)->field.tqe_circ;                                     \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;             \
    }                                                                   \
    (listelm)->field.tqe_next = (elm);                                  \
} while (0)

#define QTAILQ_INSERT_BEFORE(listelm, elm, field) do {                  \
    (elm)->field.tqe_next = (listelm);                                  \
    (elm)->field.tqe_circ.tql_prev = (listelm)->field.tqe_circ.tql_prev; \
    (elm)->field.tqe_circ.tql_prev->tql_next = (elm);                   \
    (listelm)->field.tqe_circ.tql_prev = &(elm)->field.tqe_circ;        \
} while (0)

/* Clears both links (tql_next is tqe_next), so QTAILQ_IN_USE() is false. */
#define QTAILQ_REMOVE(head, elm, field) do {                            \
    if ((elm)->field.tqe_next != NULL) {                                \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                \
            (elm)->field.tqe_circ.tql_prev;                             \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = (elm)->field.tqe_circ.tql_prev;     \
    }                                                                   \
    (elm)->field.tqe_circ.tql_prev->tql_next = (elm)->field.tqe_next;   \
    (elm)->field.tqe_circ.tql_prev = NULL;                              \
    (elm)->field.tqe_next = NULL;                                       \
} while (0)

/*
 * Unlink the run left..right (inclusive, left first).  The links inside
 * the run are left as they were, so it can still be walked from left.
 */
#define QTAILQ_REMOVE_SEVERAL(head, left, right, field) do {            \
    if ((right)->field.tqe_next != NULL) {                              \
        (right)->field.tqe_next->field.tqe_circ.tql_prev =              \
            (left)->field.tqe_circ.tql_prev;                            \
    } else {                                                            \
        (head)->tqh_circ.tql_prev = (left)->field.tqe_circ.tql_prev;    \
    }                                                                   \
    (left)->field.tqe_circ.tql_prev->tql_next = (right)->field.tqe_next; \
} while (0)

#define QTAILQ_FOREACH(var, head, field)                                \
    for ((var) = (head)->tqh_first;                                     \
         (var) != NULL;                                                 \
         (var) = (var)->field.tqe_next)

#define QTAILQ_FOREACH_SAFE(var, head, field, next_var)                 \
    for ((var) = (head)->tqh_first;                                     \
         (var) != NULL && ((next_var) = (var)->field.tqe_next, true);   \
         (var) = (next_var))

#define QTAILQ_FOREACH_REVERSE(var, head, field)                        \
    for ((var) = QTAILQ_LAST(head);                                     \
         (var) != NULL;                                                 \
         (var) = QTAILQ_PREV(var, field))

#define QTAILQ_FOREACH_REVERSE_SAFE(var, head, field, prev_var)         \
    for ((var) = QTAILQ_LAST(head);                                     \
         (var) != NULL && ((prev_var) = QTAILQ_PREV(var, field), true); \
         (var) = (prev_var))

#define QTAILQ_EMPTY(head)              ((head)->tqh_first == NULL)
#define QTAILQ_FIRST(head)              ((head)->tqh_first)
#define QTAILQ_NEXT(elm, field)         ((elm)->field.tqe_next)
#define QTAILQ_IN_USE(elm, field)       ((elm)->field.tqe_circ.tql_prev != NULL)

/*
 * The element before the one owning link: link.tql_prev is the previous
 * element's link, whose own tql_prev leads to the link whose tql_next
 * is that previous element.  Going back from the head's link wraps to
 * the last element; going back from the first element yields NULL.
 */
#define QTAILQ_LINK_PREV(link)                                          \
    ((link).tql_prev->tql_prev->tql_next)
#define QTAILQ_LAST(head)                                               \
    ((__typeof__((head)->tqh_first))QTAILQ_LINK_PREV((head)->tqh_circ))
#define QTAILQ_PREV(elm, field)                                         \
    ((__typeof__((elm)->field.tqe_next))                                \
     QTAILQ_LINK_PREV((elm)->field.tqe_circ))

/*
 * Untyped access for code that only knows the byte offset of an entry
 * inside its element (e.g. migration's list walkers).
 */
#define field_at_offset(base, offset, type)                             \
    ((type *)((char *)(base) + (offset)))

/* The members of a QTAILQ head union both start at offset 0. */
#define QTAILQ_RAW_FIRST(head)          field_at_offset(head, 0, void *)
#define QTAILQ_RAW_TQH_CIRC(head)       field_at_offset(head, 0, QTailQLink)

#define QTAILQ_RAW_NEXT(elm, entry)     field_at_offset(elm, entry, void *)
#define QTAILQ_RAW_TQE_CIRC(elm, entry)                                 \
    field_at_offset(elm, entry, QTailQLink)

#define QTAILQ_RAW_FOREACH(elm, head, entry)                            \
    for ((elm) = *QTAILQ_RAW_FIRST(head);                               \
         (elm) != NULL;                                                 \
         (elm) = *QTAILQ_RAW_NEXT(elm, entry))

#define QTAILQ_RAW_INSERT_TAIL(head, elm, entry) do {                   \
    QTailQLink *qtr_hl_ = QTAILQ_RAW_TQH_CIRC(head);                    \
    QTailQLink *qtr_el_ = QTAILQ_RAW_TQE_CIRC(elm, entry);              \
    qtr_el_->tql_next = NULL;                                           \
    qtr_el_->tql_prev = qtr_hl_->tql_prev;                              \
    qtr_hl_->tql_prev->tql_next = (elm);                                \
    qtr_hl_->tql_prev = qtr_el_;                                        \
} while (0)

/* le_next is at offset 0 of a QLIST_ENTRY, le_prev right after it. */
#define QLIST_RAW_FIRST(head)           field_at_offset(head, 0, void *)
#define QLIST_RAW_NEXT(elm, entry)      field_at_offset(elm, entry, void *)
#define QLIST_RAW_PREVIOUS(elm, entry)                                  \
    field_at_offset(elm, (entry) + sizeof(void *), void *)

#define QLIST_RAW_FOREACH(elm, head, entry)                             \
    for ((elm) = *QLIST_RAW_FIRST(head);                                \
         (elm) != NULL;                                                 \
         (elm) = *QLIST_RAW_NEXT(elm, entry))

#define QLIST_RAW_INSERT_AFTER(head, prev, elem, entry) do {            \
    void *qlr_next_ = *QLIST_RAW_NEXT(prev, entry);                     \
    *QLIST_RAW_NEXT(elem, entry) = qlr_next_;                           \
    *QLIST_RAW_PREVIOUS(elem, entry) = QLIST_RAW_NEXT(prev, entry);     \
    if (qlr_next_ != NULL) {                                            \
        *QLIST_RAW_PREVIOUS(qlr_next_, entry) =                         \
            QLIST_RAW_NEXT(elem, entry);                                \
    }                                                                   \
    *QLIST_RAW_NEXT(prev, entry) = (elem);                              \
} while (0)

#define QLIST_RAW_INSERT_HEAD(head, elm, entry) do {                    \
    void *qlr_first_ = *QLIST_RAW_FIRST(head);                          \
    *QLIST_RAW_NEXT(elm, entry) = qlr_first_;                           \
    *QLIST_RAW_PREVIOUS(elm, entry) = QLIST_RAW_FIRST(head);            \
    if (qlr_first_ != NULL) {                                           \
        *QLIST_RAW_PREVIOUS(qlr_first_, entry) =                        \
            QLIST_RAW_NEXT(elm, entry);                                 \
    }                                                                   \
    *QLIST_RAW_FIRST(head) = (elm);                                     \
} while (0)

#endif /* QEMU_SYS_QUEUE_H */
