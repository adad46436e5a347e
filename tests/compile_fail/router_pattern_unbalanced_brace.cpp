// expect: '{' without a matching '}'
// Every '{' closes.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/{id">([](std::string_view) { return "x"; })};
