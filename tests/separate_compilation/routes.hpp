// The handlers of a program in eleven files, each compiled on its own: main.cpp serves them through
// serve(), compiled once, in implementation.cpp (porthole/serve.hpp, PORTHOLE_SEPARATE_COMPILATION).
#pragma once

#include <porthole/request.hpp>
#include <porthole/response.hpp>
#include <porthole/responder.hpp>

#include <string>
#include <string_view>

namespace separate {

std::string greet(std::string_view name);                                             // greet.cpp
porthole::response sum(porthole::request const& req);                                 // sum.cpp
porthole::response echo_form(porthole::request const& req);                           // form.cpp
porthole::response status_json(porthole::request const& req);                         // status_json.cpp
porthole::response page(porthole::request const& req);                                // page.cpp
porthole::response remember(porthole::request const& req);                            // cookie.cpp
void answer_later(porthole::request const& req, porthole::responder answer);          // later.cpp
porthole::response count_upload(porthole::request const& req);                        // upload.cpp
porthole::response metrics(porthole::request const& req);                             // observe.cpp
porthole::response vars(porthole::request const& req);                                // observe.cpp
porthole::response one_event(porthole::request const& req);                           // observe.cpp
porthole::response token(porthole::request const& req);                               // observe.cpp
porthole::response file_page(porthole::request const& req, std::string const& file);  // observe.cpp

}  // namespace separate
