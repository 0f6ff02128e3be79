/*
 * sys/reent.h - shim for compiling against ESP-IDF's newlib/platform_include
 * with Debian's newlib 3.3 (tests/esp-idf/cross.sh). ESP-IDF's own
 * sys/reent.h targets newlib 4.x and declares _global_impure_ptr without the
 * `const` that newlib 3.3 has, which breaks everything that reaches stdio.h.
 * This file, searched first, keeps ESP-IDF's three macros, includes Debian's
 * header by absolute path and declares only __sinit and __sglue.
 */
#pragma once

#define _REENT_BACKWARD_BINARY_COMPAT
#define _REENT_SDIDINIT(_ptr) ((_ptr)->_reserved_0)
#define _REENT_SGLUE(_ptr) (__sglue)

#include "/usr/include/newlib/sys/reent.h"

#ifdef __cplusplus
extern "C" {
#endif
extern void __sinit(struct _reent *);
extern struct _glue __sglue;
#ifdef __cplusplus
}
#endif
