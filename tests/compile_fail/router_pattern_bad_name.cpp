// expect: a parameter name must be letters, digits and '_'
// Parameter names are identifiers.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/{1d}">([](std::string_view) { return "x"; })};
