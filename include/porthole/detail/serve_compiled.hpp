// porthole/detail/serve_compiled.hpp: serve() of every application of the program, compiled
// here once (serve.hpp, PORTHOLE_SEPARATE_COMPILATION). porthole.hpp includes it last, in the
// one file that defines PORTHOLE_IMPLEMENTATION, so that HTTPS (tls.hpp) is there when it is
// wanted.
#pragma once

#include <porthole/application_ref.hpp>
#include <porthole/detail/compiled_once.hpp>
#include <porthole/options.hpp>
#include <porthole/serve.hpp>

#include <utility>

// Both settled by the file's first porthole include: serve() and the bodies compiled once
// (detail/compiled_once.hpp) are compiled for the program here only if PORTHOLE_IMPLEMENTATION
// came before it. (Without PORTHOLE_IMPLEMENTATION at all, this header compiles header-only.)
#if !PORTHOLE_DETAIL_DEFINE_HERE || (defined(PORTHOLE_IMPLEMENTATION) && !defined(PORTHOLE_DETAIL_IMPLEMENTATION_FILE))
#error \
    "porthole: define PORTHOLE_IMPLEMENTATION before the first porthole include of this file (a header of yours that includes porthole counts)"
#endif

namespace porthole::detail {

int serve_compiled(application_ref app, server_options&& opts) { return serve_here(app, std::move(opts)); }

}  // namespace porthole::detail
