// A test server on the examples' command line: GET /slow sleeps --delay-ms (default 300) and
// answers 100,000 bytes; GET / answers at once. For tests/server/test_examples.py.
#include <porthole/porthole.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    int delay_ms = 300;
    if (auto d = porthole::command_line_value(argc, argv, "--delay-ms")) delay_ms = std::atoi(std::string(*d).c_str());
    auto app = [delay_ms](porthole::request const& req) -> porthole::response {
        if (req.path() == "/slow") {
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            return porthole::response::text(std::string(100000, 's'));
        }
        return porthole::response::static_text("ok");
    };
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}
