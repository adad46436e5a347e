// expect: unknown parameter type
// Only int and uint are parameter types.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/{id:float}">([](std::string_view) { return "x"; })};
