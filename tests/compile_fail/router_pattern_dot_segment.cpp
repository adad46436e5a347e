// expect: '.' and '..' segments never match a request
// Dot segments never match, so a route with one is a mistake.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/a/../b">([] { return "x"; })};
