// porthole/detail/compiled_once.hpp: where the bodies of porthole's larger non-template functions
// are compiled, the pattern of fmt and spdlog. Header-only (the default): in every file that
// includes them, as inline functions. With PORTHOLE_SEPARATE_COMPILATION (serve.hpp): once, in
// the one file that defines PORTHOLE_IMPLEMENTATION; the other files see their declarations only.
// Only functions that most requests never reach are compiled so (reading the command line, writing
// the metrics, opening and feeding an event stream, exchanging an access token...); the parser,
// the connection, the router and layers' steps stay inline, where the optimiser sees them whole.
// Mind the order: this header settles the mode once, when a file first includes it, so
// PORTHOLE_IMPLEMENTATION comes before any porthole include (serve_compiled.hpp checks).
#pragma once

#if defined(PORTHOLE_IMPLEMENTATION) && !defined(PORTHOLE_SEPARATE_COMPILATION)
#define PORTHOLE_SEPARATE_COMPILATION
#endif

// PORTHOLE_DETAIL_DEFINE_HERE: whether this file compiles the bodies. PORTHOLE_DETAIL_INLINE: what
// their declarations and definitions are marked with, `inline` in header-only files and nothing
// in the implementation file, whose definitions are the program's only ones.
#if !defined(PORTHOLE_SEPARATE_COMPILATION)
#define PORTHOLE_DETAIL_DEFINE_HERE 1
#define PORTHOLE_DETAIL_INLINE inline
#elif defined(PORTHOLE_IMPLEMENTATION)
#define PORTHOLE_DETAIL_DEFINE_HERE 1
#define PORTHOLE_DETAIL_INLINE
#define PORTHOLE_DETAIL_IMPLEMENTATION_FILE 1  // serve_compiled.hpp checks it
#else
#define PORTHOLE_DETAIL_DEFINE_HERE 0
#define PORTHOLE_DETAIL_INLINE
#endif
