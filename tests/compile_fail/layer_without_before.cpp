// expect: porthole layer: a layer needs before(porthole::request const&)
#include <porthole/layer.hpp>

struct only_after {
    void after(porthole::response&) const {}
};

auto app = porthole::layers{only_after{}}([](porthole::request const&) { return "x"; });
auto r = app(porthole::request{});
