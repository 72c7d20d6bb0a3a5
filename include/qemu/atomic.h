/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * QEMU-compatible atomic operations and memory barriers, mapped onto the
 * GCC/Clang __atomic builtins.  Plain qatomic_read()/qatomic_set() are
 * relaxed; the RMW operations are sequentially consistent.
 */
#ifndef QEMU_ATOMIC_H
#define QEMU_ATOMIC_H

#include "qemu/compiler.h"

#define barrier()   ({ __asm__ __volatile__("" ::: "memory"); (void)0; })

/*
 * On x86 a locked add of zero to the stack is a full barrier for ordinary
 * (write-back) memory, and cheaper than MFENCE, which also orders
 * non-temporal stores that this library never makes; Linux's smp_mb()
 * made the same choice.  -4 below the stack pointer avoids a false
 * dependency on the last value pushed.  ThreadSanitizer only understands
 * the builtin.
 */
#if defined(__x86_64__) && !defined(QEMU_SANITIZE_THREAD)
#define smp_mb() \
    ({ __asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc"); \
       (void)0; })
#elif defined(__i386__) && !defined(QEMU_SANITIZE_THREAD)
#define smp_mb() \
    ({ __asm__ __volatile__("lock; addl $0,-4(%%esp)" ::: "memory", "cc"); \
       (void)0; })
#else
#define smp_mb() \
    ({ barrier(); __atomic_thread_fence(__ATOMIC_SEQ_CST); })
#endif
#define smp_mb_release() \
    ({ barrier(); __atomic_thread_fence(__ATOMIC_RELEASE); })
#define smp_mb_acquire() \
    ({ barrier(); __atomic_thread_fence(__ATOMIC_ACQUIRE); })
#define smp_wmb()         smp_mb_release()
#define smp_rmb()         smp_mb_acquire()

#if defined(__alpha__)
#define smp_read_barrier_depends()   __asm__ __volatile__("mb" ::: "memory")
#else
#define smp_read_barrier_depends()   barrier()
#endif

#define signal_barrier()  __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* On x86 a locked RMW instruction is already a full barrier. */
#if defined(__i386__) || defined(__x86_64__) || defined(__s390x__)
#define smp_mb__before_rmw()  signal_barrier()
#define smp_mb__after_rmw()   signal_barrier()
#else
#define smp_mb__before_rmw()  smp_mb()
#define smp_mb__after_rmw()   smp_mb()
#endif

/* Atomics are only allowed on objects no larger than a pointer. */
#define ATOMIC_REG_SIZE sizeof(void *)
#define qemu_build_assert_atomic(ptr) \
    _Static_assert(sizeof(*(ptr)) <= ATOMIC_REG_SIZE, \
                   "operand too large for an atomic access")

#define qatomic_read__nocheck(ptr) __atomic_load_n(ptr, __ATOMIC_RELAXED)
#define qatomic_read(ptr) ({                                    \
        qemu_build_assert_atomic(ptr);                          \
        qatomic_read__nocheck(ptr); })

#define qatomic_set__nocheck(ptr, i) \
    __atomic_store_n(ptr, i, __ATOMIC_RELAXED)
#define qatomic_set(ptr, i) do {                                \
        qemu_build_assert_atomic(ptr);                          \
        qatomic_set__nocheck(ptr, i);                           \
    } while (0)

#ifdef QEMU_SANITIZE_THREAD
/* TSan does not model consume; acquire is a safe superset. */
#define qatomic_rcu_read__nocheck(ptr, valptr) \
    __atomic_load(ptr, valptr, __ATOMIC_ACQUIRE)
#else
#define qatomic_rcu_read__nocheck(ptr, valptr) \
    __atomic_load(ptr, valptr, __ATOMIC_CONSUME)
#endif

#define qatomic_rcu_read(ptr) ({                                \
        qemu_build_assert_atomic(ptr);                          \
        typeof_strip_qual(*(ptr)) _qrr_val;                     \
        qatomic_rcu_read__nocheck(ptr, &_qrr_val);              \
        _qrr_val; })

#define qatomic_rcu_set(ptr, i) do {                            \
        qemu_build_assert_atomic(ptr);                          \
        __atomic_store_n(ptr, i, __ATOMIC_RELEASE);             \
    } while (0)

#define qatomic_load_acquire(ptr) ({                            \
        qemu_build_assert_atomic(ptr);                          \
        typeof_strip_qual(*(ptr)) _qla_val;                     \
        __atomic_load(ptr, &_qla_val, __ATOMIC_ACQUIRE);        \
        _qla_val; })

#define qatomic_store_release(ptr, i) do {                      \
        qemu_build_assert_atomic(ptr);                          \
        __atomic_store_n(ptr, i, __ATOMIC_RELEASE);             \
    } while (0)

#define qatomic_xchg__nocheck(ptr, i) \
    __atomic_exchange_n(ptr, (i), __ATOMIC_SEQ_CST)
#define qatomic_xchg(ptr, i) ({                                 \
        qemu_build_assert_atomic(ptr);                          \
        qatomic_xchg__nocheck(ptr, i); })

/* Returns the value found in *ptr, like QEMU's. */
#define qatomic_cmpxchg__nocheck(ptr, old, new) ({              \
        typeof_strip_qual(*(ptr)) _qcx_old = (old);             \
        (void)__atomic_compare_exchange_n(ptr, &_qcx_old, new, false, \
                                          __ATOMIC_SEQ_CST,     \
                                          __ATOMIC_SEQ_CST);    \
        _qcx_old; })
#define qatomic_cmpxchg(ptr, old, new) ({                       \
        qemu_build_assert_atomic(ptr);                          \
        qatomic_cmpxchg__nocheck(ptr, old, new); })

#define qatomic_fetch_inc(ptr)    __atomic_fetch_add(ptr, 1, __ATOMIC_SEQ_CST)
#define qatomic_fetch_dec(ptr)    __atomic_fetch_sub(ptr, 1, __ATOMIC_SEQ_CST)
#define qatomic_fetch_add(ptr, n) __atomic_fetch_add(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_sub(ptr, n) __atomic_fetch_sub(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_and(ptr, n) __atomic_fetch_and(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_or(ptr, n)  __atomic_fetch_or(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_xor(ptr, n) __atomic_fetch_xor(ptr, n, __ATOMIC_SEQ_CST)

#define qatomic_inc_fetch(ptr)    __atomic_add_fetch(ptr, 1, __ATOMIC_SEQ_CST)
#define qatomic_dec_fetch(ptr)    __atomic_sub_fetch(ptr, 1, __ATOMIC_SEQ_CST)
#define qatomic_add_fetch(ptr, n) __atomic_add_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_sub_fetch(ptr, n) __atomic_sub_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_and_fetch(ptr, n) __atomic_and_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_or_fetch(ptr, n)  __atomic_or_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_xor_fetch(ptr, n) __atomic_xor_fetch(ptr, n, __ATOMIC_SEQ_CST)

#define qatomic_inc(ptr)    ((void)qatomic_fetch_inc(ptr))
#define qatomic_dec(ptr)    ((void)qatomic_fetch_dec(ptr))
#define qatomic_add(ptr, n) ((void)qatomic_fetch_add(ptr, n))
#define qatomic_sub(ptr, n) ((void)qatomic_fetch_sub(ptr, n))
#define qatomic_and(ptr, n) ((void)qatomic_fetch_and(ptr, n))
#define qatomic_or(ptr, n)  ((void)qatomic_fetch_or(ptr, n))
#define qatomic_xor(ptr, n) ((void)qatomic_fetch_xor(ptr, n))

#define qatomic_set_mb(ptr, i) \
    ((void)__atomic_exchange_n(ptr, (i), __ATOMIC_SEQ_CST))

/* Increments *ptr unless it is zero; returns the old value. */
#define qatomic_fetch_inc_nonzero(ptr) ({                               \
        typeof_strip_qual(*(ptr)) _qfin_old = qatomic_read(ptr);        \
        while (_qfin_old != 0) {                                        \
            typeof_strip_qual(*(ptr)) _qfin_seen =                      \
                qatomic_cmpxchg(ptr, _qfin_old, _qfin_old + 1);         \
            if (_qfin_seen == _qfin_old) {                              \
                break;                                                  \
            }                                                           \
            _qfin_old = _qfin_seen;                                     \
        }                                                               \
        _qfin_old; })

/* 64-bit accessors, atomic on every host this library supports. */
#define qatomic_read_i64(P)  __atomic_load_n(P, __ATOMIC_RELAXED)
#define qatomic_read_u64(P)  __atomic_load_n(P, __ATOMIC_RELAXED)
#define qatomic_set_i64(P, V) __atomic_store_n(P, V, __ATOMIC_RELAXED)
#define qatomic_set_u64(P, V) __atomic_store_n(P, V, __ATOMIC_RELAXED)

/*
 * __typeof__() without const/volatile, so that temporaries can be assigned:
 * the comma operator yields an rvalue, whose type is unqualified.
 */
#define typeof_strip_qual(expr) __typeof__(((void)0, (expr)))

#endif /* QEMU_ATOMIC_H */
