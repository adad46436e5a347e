// expect: a view, not a std::string
// A message arrives as a view that ends with the call; a std::string parameter cannot take it.
#include <porthole/websocket.hpp>

#include <string>

auto app = porthole::router{porthole::websocket<"/ws">({
    .on_text = [](porthole::ws::session& s, std::string m) { s.send_text(m); },
})};
