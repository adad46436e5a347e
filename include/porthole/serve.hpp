// porthole/serve.hpp: serve(), the whole program's server: serve an application until SIGINT or
// SIGTERM, then stop gracefully.
//
// Header-only by default: the server is compiled where serve() is called, for that application's
// type. A program of several files (or one whose edits should rebuild fast) may compile the server
// once instead, as fmt and spdlog do:
//   - every file is compiled with PORTHOLE_SEPARATE_COMPILATION defined (-DPORTHOLE_SEPARATE_COMPILATION);
//   - one file, and one only, defines PORTHOLE_IMPLEMENTATION before its first porthole include
//     (of any header, its own headers' too), and includes porthole.hpp:
//         #define PORTHOLE_IMPLEMENTATION
//         #include <porthole/porthole.hpp>
//     (PORTHOLE_IMPLEMENTATION implies PORTHOLE_SEPARATE_COMPILATION). For HTTPS, that file is
//     compiled with PORTHOLE_WITH_TLS defined, as porthole-tls does.
// The other files then compile serve() as one call: the application goes behind an
// application_ref (one indirect call per request), and serve.hpp includes neither the engine nor
// the server. A file that includes only serve.hpp (with router.hpp and the like) compiles in a
// fraction of the time (docs/server.md, "Compiling the server once"). The implementation file
// also compiles the bodies of porthole's larger functions that most requests never reach, which
// the others only declare (detail/compiled_once.hpp: the command line, metrics, event hubs...).
// Two files defining PORTHOLE_IMPLEMENTATION fail to link (detail::serve_compiled is defined
// twice), and so does a program with none (it is not defined). A file compiled without
// PORTHOLE_SEPARATE_COMPILATION in such a program breaks the one-definition rule (serve() has
// another body there) unnoticed.
// porthole::server<App> objects are templates as ever, compiled where they are used.
#pragma once

#include <porthole/detail/cxx20.hpp>

// PORTHOLE_IMPLEMENTATION implies PORTHOLE_SEPARATE_COMPILATION there.
#include <porthole/detail/compiled_once.hpp>

#include <porthole/application_ref.hpp>
#include <porthole/options.hpp>

#if PORTHOLE_DETAIL_DEFINE_HERE
#include <porthole/server.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#endif

#include <type_traits>
#include <utility>

namespace porthole {

namespace detail {

// serve() of any application, compiled once (PORTHOLE_SEPARATE_COMPILATION): defined by
// porthole.hpp in the file that defines PORTHOLE_IMPLEMENTATION, after HTTPS (tls.hpp) if any.
int serve_compiled(application_ref app, server_options&& opts);

// --tls-cert without <porthole/tls.hpp>: no HTTPS to serve, and serving plain HTTP instead
// would be a surprise. With it, a better match for the tag is found (argument-dependent lookup
// when serve() is instantiated).
template <class App>
struct https_tag {};

#if PORTHOLE_DETAIL_DEFINE_HERE
template <class Tag, class App>
int serve_https(Tag, App&, server_options&&) {
    std::fprintf(stderr, "porthole: --tls-cert needs a program built with <porthole/tls.hpp> (porthole-tls)\n");
    return 1;
}

template <class App>
int serve_here(App& app, server_options&& opts) {
    if (opts.tls_cert_file) return serve_https(https_tag<App>{}, app, std::move(opts));
    try {
        if (!opts.handle_signals) {
            server<App&> s(app, std::move(opts));
            s.start();
            s.wait();
            return 0;
        }
        // Made before the server and gone after it: a signal arriving before start() is not
        // lost, and one that comes while the server stops (its drain, then the blocking
        // handlers still running, which nothing interrupts) ends the process at once.
        signal_pipe stop({SIGINT, SIGTERM});
        server<App&> s(app, std::move(opts));
        s.start();
        stop.wait();
        stop.next_ends_process();
        s.stop();
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "porthole: %s\n", e.what());
        return 1;
    }
}
#endif

}  // namespace detail

// The ten-line program: serve `app` until SIGINT/SIGTERM (with options.handle_signals, as
// server_options::from_command_line sets), then stop gracefully and return 0. Without
// handle_signals it serves until the process ends. When the server cannot start (the port is
// taken, say) it prints why on stderr and returns 1, so `return porthole::serve(...)` from main
// gives the right exit status. `app` is used in place, and must be safe to call from every
// loop thread at once (server.hpp).
template <class App>
requires detail::fits_application<std::remove_reference_t<App>>
int serve(App&& app, server_options opts = {}) {
#if defined(PORTHOLE_SEPARATE_COMPILATION)
    return detail::serve_compiled(application_ref(app), std::move(opts));
#else
    return detail::serve_here(app, std::move(opts));
#endif
}

// serve() with what a command line asked for: after --help, the usage on stdout and 0; after a
// malformed value, the problem (and where the usage is) on stderr and 2; otherwise serve(app, options).
// Taken by value: the options move on rather than being copied.
template <class App>
requires detail::fits_application<std::remove_reference_t<App>>
int serve(App&& app, command_line cl) {
    if (!cl.ok()) return cl.report();
    return serve(std::forward<App>(app), std::move(cl.options));
}

}  // namespace porthole

// HTTPS for serve() when the program is built with it (porthole-tls defines PORTHOLE_WITH_TLS),
// as porthole.hpp does; last, since tls.hpp builds on what is above.
#if defined(PORTHOLE_WITH_TLS) && PORTHOLE_DETAIL_DEFINE_HERE
#include <porthole/tls.hpp>
#endif
