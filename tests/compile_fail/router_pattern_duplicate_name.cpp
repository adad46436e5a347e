// expect: a parameter name is used twice
// Each parameter has its own name.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/a/{id}/b/{id:int}">([](std::string_view, std::int64_t) { return "x"; })};
