// expect here: a handler must return porthole::response
// Overloaded call operators, the one that takes the pattern's parameter returning an int: one
// error where the route is written, as for a handler with a single call operator.
#include <porthole/router.hpp>

#include <string_view>

struct handler {
    int operator()(std::string_view) { return 1; }
    int operator()(double) { return 2; }
};

auto app = porthole::router{porthole::get<"/x/{id}">(handler{})};
auto answer = app(porthole::request{});
