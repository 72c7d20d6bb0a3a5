#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Builds and runs a small program against an installed qemu-rcu, with
# strict ISO C and every warning an error, to check that the installed
# headers compile cleanly in a consumer's build and leak no build
# configuration (CONFIG_* macros, _GNU_SOURCE) into it.
#   scripts/check-consumer.sh PREFIX      (PREFIX as given to meson setup)
set -euo pipefail

prefix=$(cd "${1:?usage: $0 PREFIX}" && pwd)
pc=$(find "$prefix" -name qemu-rcu.pc -print -quit)
[ -n "$pc" ] || { echo "check-consumer: no qemu-rcu.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=${pc%/*}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/consumer.c" <<'C'
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/compiler.h"
#include "qemu/coroutine-tls.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/main-loop.h"
#include "qemu/notify.h"
#include "qemu/processor.h"
#include "qemu/queue.h"
#include "qemu/rcu.h"
#include "qemu/rcu_queue.h"
#include "qemu/rcu-ext.h"
#include "qemu/stats64.h"
#include "qemu/sys_membarrier.h"
#include "qemu/thread.h"

/* Nothing of the library's build configuration may reach a consumer. */
#if defined(CONFIG_POSIX) || defined(CONFIG_LINUX) || \
    defined(CONFIG_MEMBARRIER) || defined(CONFIG_MALLOC_TRIM)
#error "an installed header leaks a CONFIG_* macro"
#endif
#ifdef _GNU_SOURCE
#error "an installed header defines _GNU_SOURCE"
#endif

typedef struct Item {
    struct rcu_head rcu;
    int value;
    QLIST_ENTRY(Item) next;
} Item;

static QLIST_HEAD(, Item) items = QLIST_HEAD_INITIALIZER(items);
static int freed;

static void item_free(Item *item)
{
    freed++;
    g_free(item);
}

static void *reader(void *arg)
{
    int *sum = arg;
    Item *item;

    rcu_register_thread();
    rcu_read_lock();
    QLIST_FOREACH_RCU(item, &items, next) {
        *sum += item->value;
    }
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

int main(void)
{
    QemuThread thread;
    RcuStats stats;
    Stat64 calls;
    unsigned int n;
    Item *item;
    int sum = 0;

    if (qemu_strtoui("3", NULL, 10, &n) < 0 || n != 3) {
        error_report("consumer: qemu_strtoui failed");
        return 1;
    }
    stat64_init(&calls, 0);

    for (int i = 1; i <= 3; i++) {
        item = g_new0(Item, 1);
        item->value = i;
        QLIST_INSERT_HEAD_RCU(&items, item, next);
    }
    qemu_thread_create(&thread, "reader", reader, &sum, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&thread);

    bql_lock();
    while (!QLIST_EMPTY(&items)) {
        item = QLIST_FIRST(&items);
        QLIST_REMOVE_RCU(item, next);
        call_rcu(item, item_free, rcu);
        stat64_add(&calls, 1);
    }
    bql_unlock();
    synchronize_rcu();
    drain_call_rcu();
    rcu_get_stats(&stats);

    if (sum != 6 || freed != (int)n || stat64_get(&calls) != n) {
        fprintf(stderr, "consumer: sum %d freed %d\n", sum, freed);
        return 1;
    }
    printf("consumer: ok\n");
    return 0;
}
C

# shellcheck disable=SC2046  # pkg-config output is a list of words
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$work/consumer" "$work/consumer.c" \
    $(pkg-config --cflags --libs qemu-rcu) \
    -Wl,-rpath,"$(pkg-config --variable=libdir qemu-rcu)"
"$work/consumer"
