/*
 * test_version.c - the version order of include/fota/version.h against the
 * vectors of version_vectors.h (shared with other runners): every pair both
 * ways, the SemVer spec's precedence chain, which strings have a place in the
 * order, and over every string of the tables that the order is consistent
 * (antisymmetric and transitive), so a device and a server never disagree
 * with themselves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "fota/error.h"
#include "fota/version.h"
#include "version_vectors.h"

/* VV_* result of fota_version_cmp(a, b). */
static int order(const char *a, const char *b)
{
    int cmp = 42, rc = fota_version_cmp(a, b, &cmp);
    if (rc == FOTA_ERR_VERSION_UNORDERED)
        return VV_UNORDERED;
    if (rc != FOTA_OK)
        fail_msg("fota_version_cmp(\"%s\", \"%s\") returned %d", a, b, rc);
    if (cmp < -1 || cmp > 1)
        fail_msg("fota_version_cmp(\"%s\", \"%s\") set cmp %d", a, b, cmp);
    return cmp;
}

static int opposite(int w)
{
    return w == VV_UNORDERED ? VV_UNORDERED : -w;
}

static void test_pairs(void **state)
{
    unsigned i, bad = 0;
    (void)state;
    for (i = 0; i < VV_COUNT(version_pairs); i++) {
        const struct version_vector *v = &version_pairs[i];
        int got = order(v->a, v->b), back = order(v->b, v->a);
        if (got != v->want || back != opposite(v->want)) {
            print_error("vector %u (%s): cmp(\"%s\", \"%s\") = %d, reversed %d; expected %d\n",
                        i, v->src, v->a, v->b, got, back, v->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_chain(void **state)
{
    unsigned i, j, n = VV_COUNT(version_chain);
    (void)state;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            int want = i < j ? VV_OLDER : i > j ? VV_NEWER : VV_SAME;
            if (order(version_chain[i], version_chain[j]) != want)
                fail_msg("chain: \"%s\" vs \"%s\": expected %d", version_chain[i],
                         version_chain[j], want);
        }
}

static void test_ordered(void **state)
{
    unsigned i;
    (void)state;
    for (i = 0; i < VV_COUNT(version_ordered); i++)
        if (!fota_version_ordered(version_ordered[i]))
            fail_msg("\"%s\" should have a place in the order", version_ordered[i]);
    for (i = 0; i < VV_COUNT(version_unordered); i++) {
        if (fota_version_ordered(version_unordered[i]))
            fail_msg("\"%s\" should have no order", version_unordered[i]);
        /* unordered even against itself: never older, never the same */
        assert_int_equal(order(version_unordered[i], version_unordered[i]), VV_UNORDERED);
        assert_int_equal(order(version_unordered[i], "1.0.0"), VV_UNORDERED);
    }
    assert_false(fota_version_ordered(NULL));
}

/* Every string of the tables against every other: cmp(a,b) = -cmp(b,a),
 * cmp(a,a) = 0 for ordered a (unordered when dirty: its changes are
 * unknown), and a <= b <= c implies a <= c. */
#define MAXS 512
static void test_consistent(void **state)
{
    static const char *s[MAXS];
    static signed char m[MAXS][MAXS];
    unsigned n = 0, i, j, k;
    (void)state;
    for (i = 0; i < VV_COUNT(version_pairs); i++) {
        s[n++] = version_pairs[i].a;
        s[n++] = version_pairs[i].b;
    }
    for (i = 0; i < VV_COUNT(version_chain); i++)
        s[n++] = version_chain[i];
    for (i = 0; i < VV_COUNT(version_ordered); i++)
        s[n++] = version_ordered[i];
    for (i = 0; i < VV_COUNT(version_unordered); i++)
        s[n++] = version_unordered[i];
    assert_true(n <= MAXS);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            m[i][j] = (signed char)order(s[i], s[j]);
    for (i = 0; i < n; i++) {
        size_t len = strlen(s[i]);
        int dirty = len >= 6 && strcmp(s[i] + len - 6, "-dirty") == 0;
        if (fota_version_ordered(s[i]) && m[i][i] != (dirty ? VV_UNORDERED : VV_SAME))
            fail_msg("\"%s\" against itself: %d", s[i], m[i][i]);
        for (j = 0; j < n; j++) {
            if (m[j][i] != opposite(m[i][j]))
                fail_msg("\"%s\" vs \"%s\": %d, reversed %d", s[i], s[j], m[i][j], m[j][i]);
            if (m[i][j] == VV_UNORDERED || m[i][j] == VV_NEWER)
                continue;
            for (k = 0; k < n; k++) {
                if (m[j][k] == VV_UNORDERED || m[j][k] == VV_NEWER)
                    continue;
                /* a <= b <= c: a <= c, strictly when either step is */
                int want = (m[i][j] == VV_SAME && m[j][k] == VV_SAME) ? VV_SAME : VV_OLDER;
                if (m[i][k] != want)
                    fail_msg("not transitive: \"%s\" %d \"%s\" %d \"%s\" but %d", s[i], m[i][j],
                             s[j], m[j][k], s[k], m[i][k]);
            }
        }
    }
}

static void test_params(void **state)
{
    int cmp;
    (void)state;
    assert_int_equal(fota_version_cmp(NULL, "1.0.0", &cmp), FOTA_ERR_PARAM);
    assert_int_equal(fota_version_cmp("1.0.0", NULL, &cmp), FOTA_ERR_PARAM);
    assert_int_equal(fota_version_cmp("1.0.0", "1.0.0", NULL), FOTA_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),    cmocka_unit_test(test_chain),
        cmocka_unit_test(test_ordered),  cmocka_unit_test(test_consistent),
        cmocka_unit_test(test_params),
    };
    printf("version vectors: %u pairs, chain of %u, %u ordered, %u unordered\n",
           (unsigned)VV_COUNT(version_pairs), (unsigned)VV_COUNT(version_chain),
           (unsigned)VV_COUNT(version_ordered), (unsigned)VV_COUNT(version_unordered));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
