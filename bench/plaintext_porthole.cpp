// The plaintext app on porthole, for bench/server_bench.py.
//   plaintext_porthole --port N --threads N [--shared-listener] [--metrics] [--router]
//                      [--no-single-client-affinity]
// --metrics: recording on (metrics.hpp), as a program that mounts /metrics has it.
// --router: the same answer from a router of a few routes, so that metrics record by route pattern.
// --no-single-client-affinity: a lone client's loop stays where the scheduler puts it.
#include <porthole/porthole.hpp>

int main(int argc, char** argv) {
    auto command_line = porthole::server_options::from_command_line(argc, argv);
    auto& options = command_line.options;
    options.max_connections = 1000000;  // the idle-connection benchmark holds 10,000 and more
    if (porthole::command_line_flag(argc, argv, "--shared-listener")) options.listener_per_thread = false;
    if (porthole::command_line_flag(argc, argv, "--metrics")) porthole::metrics::enable();
    if (porthole::command_line_flag(argc, argv, "--no-single-client-affinity")) options.single_client_affinity = false;
    if (porthole::command_line_flag(argc, argv, "--router")) {
        auto app = porthole::router{
            porthole::get<"/">([] { return porthole::response::static_text("Hello, World!", "text/plain"); }),
            porthole::get<"/users/{id:int}">([](std::int64_t id) { return std::to_string(id); }),
            porthole::post<"/users">([] { return porthole::status::created; }),
            porthole::get<"/static/{path...}">([](std::string_view path) { return std::string(path); }),
        };
        return porthole::serve(app, std::move(command_line));
    }
    return porthole::serve(
        [](porthole::request const& req) -> porthole::response {
            if (req.path() == "/") return porthole::response::static_text("Hello, World!", "text/plain");
            return porthole::status::not_found;
        },
        std::move(command_line));
}
