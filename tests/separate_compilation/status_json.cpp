#include "routes.hpp"

#include <porthole/json_string.hpp>

namespace separate {

porthole::response status_json(porthole::request const& req) {
    std::string body = "{\"path\":";
    porthole::append_json_string(body, req.path());
    body += ",\"ok\":true}";
    return porthole::response::json(std::move(body));
}

}  // namespace separate
