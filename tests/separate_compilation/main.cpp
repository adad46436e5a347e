// A program of eleven files compiled with PORTHOLE_SEPARATE_COMPILATION: this one builds the
// router and calls serve(), which implementation.cpp compiles. It includes neither the server
// nor the engine (tests/include_hygiene.py checks serve.hpp; test_separate_compilation.py checks
// the objects).
#include "routes.hpp"

#include <porthole/body_stream.hpp>
#include <porthole/router.hpp>
#include <porthole/serve.hpp>

#include <cstdint>
#include <string>

int main(int argc, char** argv) {
    auto cl = porthole::server_options::from_command_line(
        argc, argv,
        {{"--template FILE", "the page /file serves"},
         {"--max-upload BYTES", "the largest upload (default 8 MiB)", {1, 1 << 30}}});
    if (!cl.ok()) return cl.report();  // --help, or a mistake: before a value is read
    std::string file(porthole::command_line_value(argc, argv, "--template").value_or(""));
    auto max_upload =
        static_cast<std::uint64_t>(porthole::command_line_number(argc, argv, "--max-upload").value_or(8 << 20));
    auto app = porthole::router{
        porthole::get<"/hello/{name}">(separate::greet),
        porthole::get<"/sum">(separate::sum),
        porthole::post<"/form">(separate::echo_form),
        porthole::get<"/status.json">(separate::status_json),
        porthole::get<"/page">(separate::page),
        porthole::get<"/remember">(separate::remember),
        porthole::get<"/later">(separate::answer_later),
        porthole::post<"/upload">(porthole::streamed_body({.max_size = max_upload}, separate::count_upload)),
        porthole::get<"/metrics">(separate::metrics),
        porthole::get<"/debug/vars">(separate::vars),
        porthole::get<"/events">(separate::one_event),
        porthole::get<"/token">(separate::token),
        porthole::get<"/file">([&file](porthole::request const& req) { return separate::file_page(req, file); }),
    };
    return porthole::serve(app, std::move(cl));
}
