// porthole/detail/compiler.hpp: the few hints porthole gives the optimizer, spelled for each
// compiler, so that the public headers use no extension of one compiler alone: g++ and clang++
// take GNU attributes; MSVC takes its own __declspec, or goes without the hint.
#pragma once

// PORTHOLE_NOINLINE: a cold path kept out of its caller, which then stays small enough to inline.
// PORTHOLE_ALWAYS_INLINE_LAMBDA: after a lambda's parameter list, for a few bytes' copy that a
// call would cost more than.
#if defined(_MSC_VER) && !defined(__clang__)
#define PORTHOLE_NOINLINE __declspec(noinline)
#define PORTHOLE_ALWAYS_INLINE_LAMBDA
#else
#define PORTHOLE_NOINLINE [[gnu::noinline]]
#define PORTHOLE_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#endif
