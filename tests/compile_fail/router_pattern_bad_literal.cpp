// expect: a literal segment may not contain '%'
// Literals compare with the decoded path: an escape in one would never match.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/a%20b">([] { return "x"; })};
