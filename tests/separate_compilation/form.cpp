#include "routes.hpp"

#include <porthole/form.hpp>

namespace separate {

porthole::response echo_form(porthole::request const& req) {
    auto name = req.form("name");
    if (!name) return porthole::response::text("no name\n", porthole::status::bad_request);
    return porthole::response::text("name=" + *name + "\n");
}

}  // namespace separate
