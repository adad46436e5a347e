// 04_dynamic: a page becomes dynamic when a marker in it is replaced by a value. dynamic.html holds
// @@oo@@, replaced by the current time on every request. The file is parsed once, and parsed
// again only when it changes on disk (edit it while the server runs).
//   build/examples/04_dynamic --port 8080 [--pages DIR], then open /index/
#include <porthole/porthole.hpp>

#include <ctime>
#include <string>

static std::string now() {
    std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local);
    char buf[64];
    return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local));
}

int main(int argc, char** argv) {
    std::string dir(porthole::command_line_value(argc, argv, "--pages").value_or(PORTHOLE_EXAMPLES_DIR "/pages"));
    porthole::template_cache pages({.reload_on_change = true});
    auto app = porthole::router{
        porthole::get<"/index/">([&] {
            return pages.get(dir + "/dynamic.html")->render({{"oo", now()}});
        }),
    };
    return porthole::serve(
        app, porthole::server_options::from_command_line(
                 argc, argv, {{"--pages DIR", "the folder of the pages (default: the examples' pages)"}}));
}
