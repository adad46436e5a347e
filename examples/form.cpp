// form: GET / shows a form; POST /submit echoes the fields it received, HTML-escaped, so whatever
// a visitor types is shown as text and never runs as markup.
//   build/examples/form --port 8080
#include <porthole/porthole.hpp>

#include <string>

constexpr auto form_page = porthole::make_template<R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Form</title></head><body>
<h1>Say something</h1>
<form method="post" action="/submit">
  <label>Name <input name="name"></label><br>
  <label>Message <textarea name="message"></textarea></label><br>
  <button>Send</button>
</form></body></html>
)">();

constexpr auto result_page = porthole::make_template<R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Received</title></head><body>
<h1>Received @@count@@ fields</h1><dl>@@!fields@@</dl><a href="/">again</a></body></html>
)">();

int main(int argc, char** argv) {
    auto app = porthole::router{
        porthole::get<"/">([] { return form_page.render(); }),
        porthole::post<"/submit">([](porthole::request const& req) {
            std::string fields, name, value;
            int count = 0;
            for (auto const& p : porthole::url::query_params(req.body())) {
                name.clear(), value.clear();
                if (!porthole::url::decode_form(p.name, name) || !porthole::url::decode_form(p.value, value)) continue;
                fields += "<dt>", porthole::html_escape(name, fields), fields += "</dt><dd>";
                porthole::html_escape(value, fields), fields += "</dd>\n";
                ++count;
            }
            return result_page.render(porthole::arg<"count">(count), porthole::arg<"fields">(porthole::html(fields)));
        }),
    };
    return porthole::serve(app, porthole::options::from_command_line(argc, argv));
}
