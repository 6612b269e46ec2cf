/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc): wraps GCC's
 * <objc/runtime.h> so that it parses with -fobjc-runtime=gnustep-2.0, which
 * ARC needs (clang refuses -fobjc-arc with the gcc runtime).
 *
 * GCC's header defines one inline function, object_getClass(), by reading
 * `object->class_pointer` through an `id`. With a non-legacy runtime clang
 * treats `id` as its own object pointer type, which has no members, and the
 * header stops there. The macro below renames that one definition and gives
 * it a `struct objc_object *` parameter (the struct GCC's <objc/objc.h>
 * declares), so its body parses unchanged; afterwards object_getClass is
 * declared again as the plain function it is. Nothing else of GCC's header
 * changes, and none of it is ever compiled into anything. */
#ifndef VMCTR_SHIM_OBJC_RUNTIME_H
#define VMCTR_SHIM_OBJC_RUNTIME_H
#define object_getClass(unused) vmctr_shim_gcc_object_getClass(struct objc_object *object)
#include_next <objc/runtime.h>
#undef object_getClass
Class object_getClass(id object);
#endif
