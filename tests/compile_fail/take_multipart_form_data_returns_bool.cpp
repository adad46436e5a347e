// expect: porthole::take_multipart: a form needs data(std::string_view) returning void or porthole::body_flow
// A form's data() says stop or wait with a porthole::body_flow; a bool is not read as one.
#include <porthole/porthole.hpp>

struct form {
    void part(porthole::multipart::part const&) {}
    bool data(std::string_view) { return true; }
    void part_end() {}
    porthole::response end() { return porthole::status::ok; }
};

auto app = porthole::router{porthole::post<"/upload">(
    porthole::streamed_body({}, [](porthole::request const& req) { return porthole::take_multipart(req, form{}); }))};
