// expect: porthole mount: a prefix is
// A mount prefix has no trailing slash and no parameters.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::mount<"/static/">([](porthole::request const&) { return "x"; })};
