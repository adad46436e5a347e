// expect: a pattern must start with '/'
// A pattern is a path: it starts with '/'.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"users">([] { return "x"; })};
