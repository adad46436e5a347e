// What a streamed multipart form gave, part by part, and a form to stream: shared by the tests
// of multipart.hpp's stream_parser and of take_multipart (body_stream.hpp).
#pragma once

#include <porthole/multipart.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

struct collected_part {
    std::string name, filename, type, data;
    bool ended = false;
    bool operator==(collected_part const&) const = default;
};

struct collector {
    std::vector<collected_part>* parts;
    void part(porthole::multipart::part const& p) {
        parts->push_back({std::string(p.name), std::string(p.filename), std::string(p.content_type), {}, false});
    }
    void data(std::string_view piece) { parts->back().data += piece; }
    void part_end() { parts->back().ended = true; }
};

inline std::string form_body(std::string const& file) {
    return "preamble\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
           "a title\r\n"
           "--XyZ  \r\n"  // transport padding
           "Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" +
           file +
           "\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
           "\r\n--XyZ--\r\nepilogue";
}

}  // namespace
