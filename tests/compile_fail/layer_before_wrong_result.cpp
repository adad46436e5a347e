// expect: before() returns void, std::optional<porthole::response> or porthole::layer_result<State>
#include <porthole/layer.hpp>

struct wrong {
    int before(porthole::request const&) const { return 1; }
};

auto app = porthole::layers{wrong{}}([](porthole::request const&) { return "x"; });
auto r = app(porthole::request{});
