#include "routes.hpp"

#include <porthole/template.hpp>

namespace separate {

porthole::response page(porthole::request const& req) {
    static constexpr auto view = porthole::make_template<"<h1>@@title@@</h1>\n">();
    std::string title = req.query("title").value_or("untitled");
    return porthole::response::html(view.render(porthole::arg<"title">(title)));
}

}  // namespace separate
