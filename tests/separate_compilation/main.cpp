// A program of ten files compiled with PORTHOLE_SEPARATE_COMPILATION: this one builds the
// router and calls serve(), which implementation.cpp compiles. It includes neither the server
// nor the engine (tests/include_hygiene.py checks serve.hpp; test_separate_compilation.py checks
// the objects).
#include "routes.hpp"

#include <porthole/body_stream.hpp>
#include <porthole/router.hpp>
#include <porthole/serve.hpp>

int main(int argc, char** argv) {
    auto app = porthole::router{
        porthole::get<"/hello/{name}">(separate::greet),
        porthole::get<"/sum">(separate::sum),
        porthole::post<"/form">(separate::echo_form),
        porthole::get<"/status.json">(separate::status_json),
        porthole::get<"/page">(separate::page),
        porthole::get<"/remember">(separate::remember),
        porthole::get<"/later">(separate::answer_later),
        porthole::post<"/upload">(porthole::streamed_body({.max_size = 8u << 20}, separate::count_upload)),
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
