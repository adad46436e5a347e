// Small layers and a header reader shared by the tests of layer.hpp and of layers around answers
// that come later.
#pragma once

#include <porthole/layer.hpp>
#include <porthole/testing.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Records the order it runs in, adds a header on the way out.
struct tracer {
    std::string name;
    std::vector<std::string>* trace;
    void before(porthole::request const&) const { trace->push_back(name + ".before"); }
    void after(porthole::response& res) const {
        trace->push_back(name + ".after");
        res.add_header("X-Trace", name);
    }
};

// Answers 403 when the request has X-Deny.
struct gate {
    std::optional<porthole::response> before(porthole::request const& req) const {
        if (req.header("X-Deny")) return porthole::response::text("denied", porthole::status::forbidden);
        return std::nullopt;
    }
};

// Every value of the field `name`, joined with commas.
inline std::string headers_of(porthole::testing::parsed_response const& r, std::string_view name) {
    std::string out;
    for (auto const& [k, v] : r.headers)
        if (porthole::iequals(k, name)) out += (out.empty() ? "" : ",") + v;
    return out;
}

}  // namespace
