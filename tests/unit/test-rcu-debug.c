/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Built with DEBUG_RCU: rcu_read_lock() in a thread that would miss the
 * writer's barrier (never registered, or offline) fails loudly.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-subprocess.h"

#ifndef DEBUG_RCU
#error "build with -DDEBUG_RCU"
#endif

static void *unregistered_reader_fn(void *opaque)
{
    rcu_read_lock();
    rcu_read_unlock();
    return NULL;
}

static void *offline_reader_fn(void *opaque)
{
    rcu_register_thread();
    rcu_thread_offline();
    rcu_read_lock();
    rcu_read_unlock();
    return NULL;
}

static void test_reader(gconstpointer fn)
{
    if (g_test_subprocess()) {
        QemuThread t;

        qemu_thread_create(&t, "reader", (void *(*)(void *))fn, NULL,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&t);
        return;
    }
    run_in_subprocess("*p_rcu_reader->registered && !p_rcu_reader->offline*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/rcu/debug/unregistered-reader",
                         unregistered_reader_fn, test_reader);
    g_test_add_data_func("/rcu/debug/offline-reader", offline_reader_fn,
                         test_reader);
    return g_test_run();
}
