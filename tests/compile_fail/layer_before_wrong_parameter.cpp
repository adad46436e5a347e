// expect: porthole layer: before() must take porthole::request const&
// A check whose before() takes the request by non-const reference is not skipped because the
// layer has an after(): it fails the build.
#include <porthole/layer.hpp>

#include <optional>

struct auth {
    std::optional<porthole::response> before(porthole::request&) const {
        return porthole::response(porthole::status::unauthorized);
    }
    void after(porthole::response&) const {}
};

auto app = porthole::layers{auth{}}([](porthole::request const&) { return "secret"; });
auto r = app(porthole::request{});
