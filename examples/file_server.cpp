// file_server: serves the files of a directory (index.html for directories, ranges,
// conditional requests; nothing outside the directory). NAME.br and NAME.gz made ahead of time
// (brotli -k, gzip -k) go to clients that take them; --gzip also compresses the other text
// files as they are sent (gzip, deflate or br, as the client asks), at zlib's level 6 unless
// --gzip-level says otherwise (1 fastest, 9 smallest).
//   build/examples/file_server --root www --port 8080 --threads 2 [--gzip [--gzip-level N]]
#include <porthole/porthole.hpp>

#include <cstdio>
#include <string>
#include <system_error>

int main(int argc, char** argv) {
    auto command_line = porthole::server_options::from_command_line(
        argc, argv,
        {{"--root DIR", "the folder to serve (default .)"},
         {"--gzip", "compress answers a client accepts compressed (built with zlib or brotli)"},
         {"--gzip-level N", "with --gzip: the compression level, 1 to 9", {1, 9}}});
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    std::string root(porthole::command_line_value(argc, argv, "--root").value_or("."));
    bool gzip = porthole::command_line_flag(argc, argv, "--gzip");
    try {
        porthole::static_files files(root, {.precompressed = true});
#if defined(PORTHOLE_WITH_ZLIB) || defined(PORTHOLE_WITH_BROTLI)
        porthole::compression_options compress;
        // zlib's default level unless given (checked above: 1 to 9).
        compress.level = static_cast<int>(porthole::command_line_number(argc, argv, "--gzip-level").value_or(6));
        auto app = porthole::layers{
            porthole::when([gzip](porthole::request const&) { return gzip; }, porthole::compression(compress)),
        }(std::move(files));
        return porthole::serve(app, std::move(command_line.options));
#else
        if (gzip) std::fprintf(stderr, "file_server: built without zlib or brotli: --gzip does nothing\n");
        return porthole::serve(files, std::move(command_line.options));
#endif
    } catch (std::system_error const& e) {
        std::fprintf(stderr, "file_server: cannot serve %s: %s\n", root.c_str(), e.code().message().c_str());
        return 1;
    }
}
