// Parser limits the fuzz targets choose among: the defaults, and small ones that inputs of a
// few hundred bytes can reach, so that every limit's error path is explored.
#pragma once

#include <porthole/parser.hpp>

#include <cstdint>

namespace fuzz_support {

inline porthole::parser_limits small_limits() {
    porthole::parser_limits l;
    l.max_request_line = 64;
    l.max_header_bytes = 256;
    l.max_header_line = 96;
    l.max_header_count = 8;
    l.max_body = 512;
    l.max_chunk_extension = 16;
    l.max_trailer_bytes = 64;
    return l;
}

// Bit 0: small limits; bit 1: bare LF accepted as a line end.
inline porthole::parser_limits limits_from(std::uint8_t bits) {
    auto l = (bits & 1) ? small_limits() : porthole::parser_limits{};
    l.allow_bare_lf = (bits & 2) != 0;
    return l;
}

}  // namespace fuzz_support
