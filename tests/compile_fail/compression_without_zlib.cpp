// expect: porthole::compression needs zlib or brotli
// Built without PORTHOLE_WITH_ZLIB or PORTHOLE_WITH_BROTLI there is nothing to compress with.
#include <porthole/compression.hpp>

auto app = porthole::layers{porthole::compression{}}([](porthole::request const&) { return "x"; });
