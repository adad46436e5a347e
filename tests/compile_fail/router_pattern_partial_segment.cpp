// expect: a parameter must be a whole segment
// A parameter cannot share a segment with literal text.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/id{id}">([](std::string_view) { return "x"; })};
