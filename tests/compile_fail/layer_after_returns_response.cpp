// expect: porthole layer: after() must take porthole::response&
// An after() that returns the response it changed, with state kept by before(): what it returns
// would be dropped, so the build fails.
#include <porthole/layer.hpp>

struct timed {
    porthole::layer_result<int> before(porthole::request const&) const { return 1; }
    porthole::response after(int&, porthole::response& res) const {
        res.set_header("X-Took", "1");
        return res;
    }
};

auto app = porthole::layers{timed{}}([](porthole::request const&) { return "hello"; });
auto r = app(porthole::request{});
