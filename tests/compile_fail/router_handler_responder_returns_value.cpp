// expect here: taking a porthole::responder last, nothing
// A handler that answers through a responder returns nothing: two answers would compete.
#include <porthole/router.hpp>

auto app = porthole::router{porthole::get<"/u">([](porthole::request const&, porthole::responder) { return "x"; })};
