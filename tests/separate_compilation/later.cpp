#include "routes.hpp"

#include <thread>

namespace separate {

// Answered from a thread of its own, after the handler has returned.
void answer_later(porthole::request const& req, porthole::responder answer) {
    std::string who = req.query("who").value_or("nobody");
    std::thread([answer = std::move(answer), who = std::move(who)]() mutable {
        answer.send(porthole::response::text("later, " + who + "\n"));
    }).detach();
}

}  // namespace separate
