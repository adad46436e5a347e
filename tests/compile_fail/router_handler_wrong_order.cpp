// expect here: the handler's parameters must be the pattern's
// Parameters come in the pattern's order.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/u/{name}/{n:int}">([](std::int64_t, std::string_view) { return "x"; })};
