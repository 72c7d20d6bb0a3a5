/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Compiler helpers used by the QEMU-compatible headers.
 */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#include <stddef.h>

#define QEMU_NORETURN __attribute__((__noreturn__))
#define QEMU_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define QEMU_SENTINEL __attribute__((sentinel))
#define QEMU_PACKED __attribute__((packed))
#define QEMU_ALIGNED(X) __attribute__((aligned(X)))
#define QEMU_ALWAYS_INLINE __attribute__((always_inline))
#define QEMU_FLATTEN __attribute__((flatten))
#define QEMU_UNUSED __attribute__((unused))
#define QEMU_COLD __attribute__((cold))

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef container_of
#define container_of(ptr, type, member) ({                      \
        const __typeof__(((type *) 0)->member) *__mptr = (ptr);     \
        (type *) ((char *) __mptr - offsetof(type, member)); })
#endif

#define sizeof_field(type, field) sizeof(((type *)0)->field)

#define typeof_field(type, field) __typeof__(((type *)0)->field)

#define type_check(t1, t2) ((t1 *)0 - (t2 *)0)

#define xglue(x, y) x ## y
#define glue(x, y) xglue(x, y)
#define stringify(s) tostring(s)
#define tostring(s) #s

#define QEMU_BUILD_BUG_MSG(x, msg) _Static_assert(!(x), msg)
#define QEMU_BUILD_BUG_ON(x) QEMU_BUILD_BUG_MSG(x, "not expecting: " #x)
#define QEMU_BUILD_BUG_ON_ZERO(x) \
    (sizeof(struct { int: (x) ? -1 : 1; }) - sizeof(struct { int: 1; }))
#define QEMU_BUILD_BUG_ON_STRUCT(x) struct { int: (x) ? -1 : 1; }

#define QEMU_FIRST_(a, b) a
#define QEMU_SECOND_(a, b) b

#ifndef __has_attribute
#define __has_attribute(x) 0
#endif
#ifndef __has_feature
#define __has_feature(x) 0
#endif

#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define QEMU_SANITIZE_THREAD 1
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define QEMU_SANITIZE_ADDRESS 1
#endif

#if __has_attribute(fallthrough)
#define fallthrough __attribute__((fallthrough))
#else
#define fallthrough do {} while (0)
#endif

/* Thread-safety annotations are accepted and ignored. */
#define TSA_NO_TSA
#define TSA_CAPABILITY(x)
#define TSA_ACQUIRE(...)
#define TSA_RELEASE(...)
#define TSA_REQUIRES(...)

#endif /* QEMU_COMPILER_H */
