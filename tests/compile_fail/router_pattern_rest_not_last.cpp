// expect: must be the last segment
// {name...} takes the rest of the path, so nothing can follow it.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/files/{path...}/raw">([](std::string_view) { return "x"; })};
