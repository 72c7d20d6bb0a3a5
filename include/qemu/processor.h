/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * cpu_relax(): a hint for busy-wait loops.
 */
#ifndef QEMU_PROCESSOR_H
#define QEMU_PROCESSOR_H

#include "qemu/atomic.h"

#if defined(__i386__) || defined(__x86_64__)
#define cpu_relax() __asm__ __volatile__("rep; nop" ::: "memory")
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#elif defined(__powerpc64__)
#define cpu_relax() __asm__ __volatile__("or 1, 1, 1;or 2, 2, 2;" ::: "memory")
#else
#define cpu_relax() barrier()
#endif

#endif /* QEMU_PROCESSOR_H */
