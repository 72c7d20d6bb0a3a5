/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * POSIX operating-system helpers declared in qemu/osdep.h.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"

#ifdef __linux__
#include <sys/syscall.h>
#endif
#ifdef __FreeBSD__
#include <sys/thr.h>
#endif

/*
 * The id that ps -L, /proc/<pid>/task and the kernel's own reports use,
 * so that a stall warning names a thread the user can find.
 */
int qemu_get_thread_id(void)
{
#if defined(__linux__)
    return (int)syscall(SYS_gettid);
#elif defined(__FreeBSD__)
    long tid;

    thr_self(&tid);
    return (int)tid;
#else
    return getpid();
#endif
}
