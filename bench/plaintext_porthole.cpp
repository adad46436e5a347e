// The plaintext app on porthole, for bench/server_bench.py.
//   plaintext_porthole --port N --threads N [--shared-listener] [--metrics] [--router]
//                      [--single-client-affinity never|when_faster|always]
// --metrics: recording on (metrics.hpp), as a program that mounts /metrics has it.
// --router: the same answer from a router of a few routes, so that metrics record by route pattern.
// --single-client-affinity: server_options::single_client_affinity (never: a lone client's loop
// stays where the scheduler puts it; always: it follows the client without measuring).
#include <porthole/porthole.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    auto command_line = porthole::server_options::from_command_line(argc, argv);
    auto& options = command_line.options;
    options.max_connections = 1000000;  // the idle-connection benchmark holds 10,000 and more
    if (porthole::command_line_flag(argc, argv, "--shared-listener")) options.listener_per_thread = false;
    if (porthole::command_line_flag(argc, argv, "--metrics")) porthole::metrics::enable();
    if (porthole::command_line_flag(argc, argv, "--no-single-client-affinity")) {
        std::fputs("plaintext_porthole: --no-single-client-affinity is --single-client-affinity=never now\n", stderr);
        return 2;
    }
    if (auto follow = porthole::command_line_value(argc, argv, "--single-client-affinity")) {
        if (*follow == "never") options.single_client_affinity = porthole::follow_client::never;
        else if (*follow == "always") options.single_client_affinity = porthole::follow_client::always;
        else if (*follow != "when_faster") {
            std::fputs("plaintext_porthole: --single-client-affinity takes never, when_faster or always\n", stderr);
            return 2;
        }
    }
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
