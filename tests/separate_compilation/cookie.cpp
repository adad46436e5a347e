#include "routes.hpp"

#include <porthole/cookie.hpp>

namespace separate {

porthole::response remember(porthole::request const& req) {
    auto seen = req.cookie("seen");
    auto res = porthole::response::text(seen ? "again\n" : "first\n");
    res.set_header("Set-Cookie", "seen=1; Path=/; HttpOnly");
    return res;
}

}  // namespace separate
