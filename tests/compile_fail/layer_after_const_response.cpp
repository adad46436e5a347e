// expect: porthole layer: after() must take porthole::response&
// An after() that takes the response by const&, with state kept by before(): it can change
// nothing that is sent, so the build fails.
#include <porthole/layer.hpp>

#include <cstdio>

struct timed {
    porthole::layer_result<int> before(porthole::request const&) const { return 1; }
    void after(int&, porthole::response const& res) const { std::printf("%d\n", static_cast<int>(res.status())); }
};

auto app = porthole::layers{timed{}}([](porthole::request const&) { return "hello"; });
auto r = app(porthole::request{});
