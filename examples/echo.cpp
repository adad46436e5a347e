// echo: sends back what it received (see echo_app.hpp); tests use it as a probe.
//   build/examples/echo --port 8080 [--gunzip]
// --gunzip: request bodies sent with Content-Encoding: gzip or deflate are decoded first, up to
// the body limit once decoded (a zip bomb gets 413).
#include "echo_app.hpp"

#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    std::atomic<unsigned long> received{0};
    auto command_line = porthole::options::from_command_line(argc, argv);
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto& opts = command_line.options;
#if defined(PORTHOLE_WITH_ZLIB)
    if (porthole::command_line_flag(argc, argv, "--gunzip")) {
        auto app = porthole::layers{porthole::request_decompression({.max_body = opts.limits.max_body})}(
            echo_app{&received});
        return porthole::serve(app, std::move(opts));
    }
#endif
    return porthole::serve(echo_app{&received}, std::move(opts));
}
