// expect: porthole layer: after() must take porthole::response&
// An after() that takes a copy of the response would change nothing that is sent: it fails the
// build rather than doing nothing.
#include <porthole/layer.hpp>

struct served_by {
    void after(porthole::response res) const { res.set_header("X-Served-By", "porthole"); }
};

auto app = porthole::layers{served_by{}}([](porthole::request const&) { return "hello"; });
auto r = app(porthole::request{});
