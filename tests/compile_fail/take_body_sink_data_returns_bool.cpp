// expect: porthole take_body: a sink needs data(std::string_view piece) returning void or porthole::body_flow
// A sink's data() says stop or wait with a porthole::body_flow; a bool is not read as one.
#include <porthole/porthole.hpp>

struct sink {
    bool data(std::string_view) { return true; }
    porthole::response end() { return porthole::status::ok; }
};

auto app = porthole::router{porthole::post<"/upload">(
    porthole::streamed_body({}, [](porthole::request const& req) { return porthole::take_body(req, sink{}); }))};
