/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Notifier lists, QEMU-compatible.  A Notifier is embedded in the
 * caller's structure; notifier_list_notify() calls every notifier in
 * the list, most recently added first.  The list is not locked: the
 * owner of the list provides mutual exclusion.
 */
#ifndef QEMU_NOTIFY_H
#define QEMU_NOTIFY_H

#include "qemu/queue.h"

typedef struct Notifier Notifier;

struct Notifier {
    void (*notify)(Notifier *notifier, void *data);
    QLIST_ENTRY(Notifier) node;
};

typedef struct NotifierList {
    QLIST_HEAD(, Notifier) notifiers;
} NotifierList;

#define NOTIFIER_LIST_INITIALIZER(head) \
    { QLIST_HEAD_INITIALIZER((head).notifiers) }

void notifier_list_init(NotifierList *list);
void notifier_list_add(NotifierList *list, Notifier *notifier);
void notifier_remove(Notifier *notifier);
/* A notifier may remove itself while it runs. */
void notifier_list_notify(NotifierList *list, void *data);
bool notifier_list_empty(NotifierList *list);

typedef struct NotifierWithReturn NotifierWithReturn;

struct NotifierWithReturn {
    int (*notify)(NotifierWithReturn *notifier, void *data, void **errp);
    QLIST_ENTRY(NotifierWithReturn) node;
};

typedef struct NotifierWithReturnList {
    QLIST_HEAD(, NotifierWithReturn) notifiers;
} NotifierWithReturnList;

#define NOTIFIER_WITH_RETURN_LIST_INITIALIZER(head) \
    { QLIST_HEAD_INITIALIZER((head).notifiers) }

void notifier_with_return_list_init(NotifierWithReturnList *list);
void notifier_with_return_list_add(NotifierWithReturnList *list,
                                   NotifierWithReturn *notifier);
void notifier_with_return_remove(NotifierWithReturn *notifier);
/* Stops at the first notifier that returns non-zero and returns that. */
int notifier_with_return_list_notify(NotifierWithReturnList *list,
                                     void *data, void **errp);

#endif /* QEMU_NOTIFY_H */
