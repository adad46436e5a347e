// expect: a route needs at least one method
// A route with no method could never be reached.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::route<"/x", porthole::method_set{}>([] { return "x"; })};
