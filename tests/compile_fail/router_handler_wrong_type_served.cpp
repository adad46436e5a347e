// expect here: the handler's parameters must be the pattern's
// The same mistake in a router that is called (as a server calls it): still one error, not a
// second about calling the handler.
#include <porthole/router.hpp>

#include <string>
#include <string_view>

auto app = porthole::router{porthole::get<"/users/{id:int}">([](std::string_view id) { return std::string(id); })};
auto answer = app(porthole::request{});
