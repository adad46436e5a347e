// expect here: a handler must return porthole::response
// A handler must answer something.
#include <porthole/router.hpp>

#include <cstdint>
#include <string_view>

auto app = porthole::router{porthole::get<"/u">([] {})};
