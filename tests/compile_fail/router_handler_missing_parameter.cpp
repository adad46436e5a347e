// expect here: the handler's parameters must be the pattern's
// A handler without the request must take every parameter.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/u/{name}">([] { return "x"; })};
