// 03_pages: functions return whole HTML pages, read from files. The file is sent as it is on disk
// (with sendfile), never read into memory; a missing file is 404.
//   build/examples/03_pages --port 8080 [--pages DIR]
#include <porthole/porthole.hpp>

#include <string>

int main(int argc, char** argv) {
    std::string dir(porthole::command_line_value(argc, argv, "--pages").value_or(PORTHOLE_EXAMPLES_DIR "/pages"));
    auto page = [&dir](char const* name) {
        return [path = dir + "/" + name] { return porthole::response::file(path, "text/html; charset=utf-8"); };
    };
    auto app = porthole::router{
        porthole::get<"/index/">(page("index.html")),
        porthole::get<"/home/">(page("home.html")),
    };
    return porthole::serve(
        app, porthole::server_options::from_command_line(
                 argc, argv, {{"--pages DIR", "the folder of the pages (default: the examples' pages)"}}));
}
