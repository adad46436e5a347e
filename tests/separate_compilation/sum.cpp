#include "routes.hpp"

#include <charconv>
#include <cstdint>

namespace separate {

namespace {
std::int64_t number(porthole::request const& req, std::string_view name) {
    std::int64_t n = 0;
    if (auto v = req.query(name)) std::from_chars(v->data(), v->data() + v->size(), n);
    return n;
}
}  // namespace

porthole::response sum(porthole::request const& req) {
    return porthole::response::text(std::to_string(number(req, "a") + number(req, "b")) + "\n");
}

}  // namespace separate
