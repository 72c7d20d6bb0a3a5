/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * QEMU_DECLARE_CO_TLS() and friends.
 *
 * QEMU hides thread-local variables behind out-of-line accessors because
 * its coroutines may move between threads.  This library has no
 * coroutines, so the accessors are inline and the read-side fast path
 * pays for a direct TLS access only.  Inside a QEMU tree, QEMU's own
 * header is used instead and keeps its coroutine-safe behaviour.
 */
#ifndef QEMU_COROUTINE_TLS_H
#define QEMU_COROUTINE_TLS_H

#define QEMU_DECLARE_CO_TLS(type, var)                                   \
    extern __thread type co_tls_##var;                                   \
    static inline type get_##var(void) { return co_tls_##var; }          \
    static inline void set_##var(type v) { co_tls_##var = v; }           \
    static inline type *get_ptr_##var(void) { return &co_tls_##var; }

#define QEMU_DEFINE_CO_TLS(type, var) \
    __thread type co_tls_##var;

#define QEMU_DEFINE_STATIC_CO_TLS(type, var)                             \
    static __thread type co_tls_##var;                                   \
    static inline G_GNUC_UNUSED type get_##var(void)                     \
    { return co_tls_##var; }                                             \
    static inline G_GNUC_UNUSED void set_##var(type v)                   \
    { co_tls_##var = v; }                                                \
    static inline G_GNUC_UNUSED type *get_ptr_##var(void)                \
    { return &co_tls_##var; }

#endif /* QEMU_COROUTINE_TLS_H */
