#include "routes.hpp"

#include <porthole/body_stream.hpp>

#include <cstdint>

namespace separate {

namespace {
struct byte_counter {
    std::uint64_t bytes = 0;
    void data(std::string_view piece) { bytes += piece.size(); }
    porthole::response end() { return porthole::response::text(std::to_string(bytes) + " bytes\n"); }
};
}  // namespace

// A streamed body: the application tells the connection so from the head (plan_body), through
// the application_ref serve() is given.
porthole::response count_upload(porthole::request const& req) { return porthole::take_body(req, byte_counter{}); }

}  // namespace separate
