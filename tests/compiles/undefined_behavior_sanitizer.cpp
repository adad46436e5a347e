// flags: -fsanitize=undefined -O0
// Everything porthole.hpp holds, with literal templates and a route list evaluated at compile
// time, compiles under UBSan: g++ 12 cannot evaluate string_view's comparisons on a template
// argument's text there (its null checks are not constant expressions), so porthole's
// compile-time code must not use them.
#include <porthole/porthole.hpp>

#include <string>

constexpr auto page = porthole::make_template<"<h1>@@title@@</h1><p>@@!nav@@ @@count@@</p>">();

std::string render_page(std::string const& title) {
    return page
        .render(porthole::arg<"title">(title), porthole::arg<"nav">("<a href=\"/\">home</a>"),
                porthole::arg<"count">(3))
        .str();
}

int serve_routes(int argc, char** argv) {
    auto app = porthole::router{
        porthole::get<"/">([] {
            return porthole::response::html(
                page.render(porthole::arg<"title">("home"), porthole::arg<"nav">(""), porthole::arg<"count">(1)));
        }),
        porthole::get<"/users/{id:int}">([](std::int64_t id) { return "user " + std::to_string(id); }),
        porthole::get<"/files/{path...}">([](std::string_view path) { return std::string(path); }),
        porthole::mount<"/static">([](porthole::request const& req) { return std::string(req.path()); }),
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
