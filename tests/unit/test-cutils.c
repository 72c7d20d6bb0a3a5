/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu_strtoui(), qemu_strtoul(), qemu_strtou64(): QEMU's contract for
 * return values, *result and *endptr, including the corner cases where
 * it differs from strtoul() (no conversion, trailing text without an
 * end pointer, overflow, a leading minus sign, 32-bit widths).
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

static void test_strtoui_plain(void)
{
    const char *end = NULL;
    const char *s = "12345 tail";
    unsigned int r = 7;

    g_assert_cmpint(qemu_strtoui(s, &end, 10, &r), ==, 0);
    g_assert_cmpuint(r, ==, 12345);
    g_assert_true(end == s + 5);

    g_assert_cmpint(qemu_strtoui("0x1f", NULL, 0, &r), ==, 0);
    g_assert_cmpuint(r, ==, 31);
    g_assert_cmpint(qemu_strtoui("017", NULL, 0, &r), ==, 0);
    g_assert_cmpuint(r, ==, 15);
    g_assert_cmpint(qemu_strtoui("  42", NULL, 10, &r), ==, 0);
    g_assert_cmpuint(r, ==, 42);
}

/* Nothing converted: -EINVAL, result 0, end pointer back at the start. */
static void test_no_conversion(void)
{
    static const char *const inputs[] = { "", "   ", "abc", "-", "+x" };
    const char *end;
    unsigned int ui;
    unsigned long ul;
    uint64_t u64;

    for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
        const char *s = inputs[i];

        ui = 1;
        end = NULL;
        g_assert_cmpint(qemu_strtoui(s, &end, 0, &ui), ==, -EINVAL);
        g_assert_cmpuint(ui, ==, 0);
        g_assert_true(end == s);

        ul = 1;
        end = NULL;
        g_assert_cmpint(qemu_strtoul(s, &end, 10, &ul), ==, -EINVAL);
        g_assert_cmpuint(ul, ==, 0);
        g_assert_true(end == s);

        u64 = 1;
        g_assert_cmpint(qemu_strtou64(s, NULL, 10, &u64), ==, -EINVAL);
        g_assert_cmpuint(u64, ==, 0);
    }

    ui = 1;
    end = "sentinel";
    g_assert_cmpint(qemu_strtoui(NULL, &end, 10, &ui), ==, -EINVAL);
    g_assert_cmpuint(ui, ==, 0);
    g_assert_null(end);
}

/* Without an end pointer the whole string must be the number. */
static void test_trailing(void)
{
    unsigned int ui = 0;
    unsigned long ul = 0;
    uint64_t u64 = 0;

    g_assert_cmpint(qemu_strtoui("12x", NULL, 10, &ui), ==, -EINVAL);
    g_assert_cmpuint(ui, ==, 12);
    g_assert_cmpint(qemu_strtoul("34 ", NULL, 10, &ul), ==, -EINVAL);
    g_assert_cmpuint(ul, ==, 34);
    g_assert_cmpint(qemu_strtou64("56\n", NULL, 10, &u64), ==, -EINVAL);
    g_assert_cmpuint(u64, ==, 56);
    /* Trailing text outranks overflow when there is no end pointer. */
    g_assert_cmpint(qemu_strtoui("99999999999z", NULL, 10, &ui), ==,
                    -EINVAL);
    g_assert_cmpuint(ui, ==, UINT_MAX);
}

static void test_overflow(void)
{
    const char *end;
    const char *s = "4294967296!";
    unsigned int ui = 0;
    unsigned long ul = 0;
    uint64_t u64 = 0;

    g_assert_cmpint(qemu_strtoui("4294967295", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui(s, &end, 10, &ui), ==, -ERANGE);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_true(end == s + 10);

    g_assert_cmpint(qemu_strtou64("18446744073709551615", NULL, 10, &u64),
                    ==, 0);
    g_assert_cmpuint(u64, ==, UINT64_MAX);
    g_assert_cmpint(qemu_strtou64("18446744073709551616", NULL, 10, &u64),
                    ==, -ERANGE);
    g_assert_cmpuint(u64, ==, UINT64_MAX);

    g_assert_cmpint(qemu_strtoul("0x1ffffffffffffffff", NULL, 16, &ul), ==,
                    -ERANGE);
    g_assert_cmpuint(ul, ==, ULONG_MAX);
}

/* A minus sign wraps the magnitude in the result's type, as strtoul(). */
static void test_negative(void)
{
    unsigned int ui = 0;
    unsigned long ul = 0;
    uint64_t u64 = 0;

    g_assert_cmpint(qemu_strtoui("-1", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("-0", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, 0);
    g_assert_cmpint(qemu_strtoui("-4294967295", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, 1);
    /* The magnitude is checked before negation, on every host. */
    g_assert_cmpint(qemu_strtoui("-4294967296", NULL, 10, &ui), ==, -ERANGE);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("-18446744073709551615", NULL, 10, &ui), ==,
                    -ERANGE);
    g_assert_cmpuint(ui, ==, UINT_MAX);

    g_assert_cmpint(qemu_strtoul("-2", NULL, 10, &ul), ==, 0);
    g_assert_cmpuint(ul, ==, ULONG_MAX - 1);
    g_assert_cmpint(qemu_strtou64("-3", NULL, 10, &u64), ==, 0);
    g_assert_cmpuint(u64, ==, UINT64_MAX - 2);
}

/* "0x" alone is the number 0 followed by "x". */
static void test_hex_prefix_only(void)
{
    const char *s = "0x";
    const char *end = NULL;
    unsigned int ui = 5;

    g_assert_cmpint(qemu_strtoui(s, &end, 16, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, 0);
    g_assert_true(end == s + 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cutils/strtoui/plain", test_strtoui_plain);
    g_test_add_func("/cutils/no-conversion", test_no_conversion);
    g_test_add_func("/cutils/trailing", test_trailing);
    g_test_add_func("/cutils/overflow", test_overflow);
    g_test_add_func("/cutils/negative", test_negative);
    g_test_add_func("/cutils/hex-prefix-only", test_hex_prefix_only);
    return g_test_run();
}
