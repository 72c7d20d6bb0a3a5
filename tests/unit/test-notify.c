/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Notifier lists: call order, removal (also from inside a notifier) and
 * the early stop of NotifierWithReturn lists.
 */
#include "qemu/osdep.h"
#include "qemu/notify.h"

/* Each call appends the notifier's id to a shared log. */
typedef struct TestNotifier {
    Notifier n;
    int id;
    GString *log;
    bool remove_self;
    void *seen_data;
} TestNotifier;

static void test_notifier_cb(Notifier *n, void *data)
{
    TestNotifier *t = container_of(n, TestNotifier, n);

    g_string_append_printf(t->log, "%d", t->id);
    t->seen_data = data;
    if (t->remove_self) {
        notifier_remove(n);
    }
}

static void test_notifier_init(TestNotifier *t, int id, GString *log)
{
    memset(t, 0, sizeof(*t));
    t->n.notify = test_notifier_cb;
    t->id = id;
    t->log = log;
}

static void test_order(void)
{
    NotifierList list = NOTIFIER_LIST_INITIALIZER(list);
    g_autoptr(GString) log = g_string_new(NULL);
    TestNotifier t[4];
    int data;
    int i;

    g_assert_true(notifier_list_empty(&list));
    notifier_list_notify(&list, NULL);

    for (i = 0; i < 4; i++) {
        test_notifier_init(&t[i], i, log);
        notifier_list_add(&list, &t[i].n);
        g_assert_false(notifier_list_empty(&list));
    }

    notifier_list_notify(&list, &data);
    g_assert_cmpstr(log->str, ==, "3210");
    for (i = 0; i < 4; i++) {
        g_assert_true(t[i].seen_data == &data);
    }

    /* Removing from the middle, the head and the tail. */
    g_string_truncate(log, 0);
    notifier_remove(&t[2].n);
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "310");

    g_string_truncate(log, 0);
    notifier_remove(&t[3].n);
    notifier_remove(&t[0].n);
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "1");

    /* A removed notifier can be added again, and goes to the front. */
    g_string_truncate(log, 0);
    notifier_list_add(&list, &t[0].n);
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "01");

    notifier_remove(&t[0].n);
    notifier_remove(&t[1].n);
    g_assert_true(notifier_list_empty(&list));
    g_string_truncate(log, 0);
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "");
}

static void test_init(void)
{
    NotifierList list;
    g_autoptr(GString) log = g_string_new(NULL);
    TestNotifier t;

    /* Garbage first: notifier_list_init() must not rely on zeroed memory. */
    memset(&list, 0xa5, sizeof(list));
    notifier_list_init(&list);
    g_assert_true(notifier_list_empty(&list));

    test_notifier_init(&t, 7, log);
    notifier_list_add(&list, &t.n);
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "7");
}

static void test_remove_self(void)
{
    NotifierList list = NOTIFIER_LIST_INITIALIZER(list);
    g_autoptr(GString) log = g_string_new(NULL);
    TestNotifier t[3];
    int i;

    for (i = 0; i < 3; i++) {
        test_notifier_init(&t[i], i, log);
        notifier_list_add(&list, &t[i].n);
    }

    /* Each of head, middle and tail removing itself in turn. */
    t[1].remove_self = true;
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "210");

    g_string_truncate(log, 0);
    t[2].remove_self = true;
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "20");

    g_string_truncate(log, 0);
    t[0].remove_self = true;
    notifier_list_notify(&list, NULL);
    g_assert_cmpstr(log->str, ==, "0");
    g_assert_true(notifier_list_empty(&list));

    /*
     * The removed notifiers may be reused at once, e.g. freed and their
     * memory overwritten: poison them to be sure nothing still walks
     * through their links.
     */
    memset(t, 0xa5, sizeof(t));
    notifier_list_notify(&list, NULL);
}

typedef struct TestRetNotifier {
    NotifierWithReturn n;
    int id;
    int ret;
    GString *log;
    void *seen_data;
    void **seen_errp;
} TestRetNotifier;

static int test_ret_cb(NotifierWithReturn *n, void *data, void **errp)
{
    TestRetNotifier *t = container_of(n, TestRetNotifier, n);

    g_string_append_printf(t->log, "%d", t->id);
    t->seen_data = data;
    t->seen_errp = errp;
    return t->ret;
}

static void test_with_return(void)
{
    NotifierWithReturnList list = NOTIFIER_WITH_RETURN_LIST_INITIALIZER(list);
    NotifierWithReturnList list2;
    g_autoptr(GString) log = g_string_new(NULL);
    TestRetNotifier t[4];
    void *err = NULL;
    int data;
    int i;

    g_assert_cmpint(notifier_with_return_list_notify(&list, NULL, NULL),
                    ==, 0);

    for (i = 0; i < 4; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].n.notify = test_ret_cb;
        t[i].id = i;
        t[i].log = log;
        notifier_with_return_list_add(&list, &t[i].n);
    }

    /* All return 0: all run, most recently added first, result 0. */
    g_assert_cmpint(notifier_with_return_list_notify(&list, &data, &err),
                    ==, 0);
    g_assert_cmpstr(log->str, ==, "3210");
    g_assert_true(t[0].seen_data == &data);
    g_assert_true(t[0].seen_errp == &err);

    /* The first non-zero result stops the walk and is returned. */
    g_string_truncate(log, 0);
    t[2].ret = -EINVAL;
    t[1].ret = 42;
    g_assert_cmpint(notifier_with_return_list_notify(&list, NULL, &err),
                    ==, -EINVAL);
    g_assert_cmpstr(log->str, ==, "32");

    g_string_truncate(log, 0);
    notifier_with_return_remove(&t[2].n);
    g_assert_cmpint(notifier_with_return_list_notify(&list, NULL, &err),
                    ==, 42);
    g_assert_cmpstr(log->str, ==, "31");

    g_string_truncate(log, 0);
    t[3].ret = 5;
    g_assert_cmpint(notifier_with_return_list_notify(&list, NULL, &err),
                    ==, 5);
    g_assert_cmpstr(log->str, ==, "3");

    notifier_with_return_list_init(&list2);
    g_assert_cmpint(notifier_with_return_list_notify(&list2, NULL, NULL),
                    ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/notify/order", test_order);
    g_test_add_func("/notify/init", test_init);
    g_test_add_func("/notify/remove-self", test_remove_self);
    g_test_add_func("/notify/with-return", test_with_return);
    return g_test_run();
}
