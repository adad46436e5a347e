// One porthole::event_hub on GET /events, fed by a thread that publishes `--rate` events per
// second, each carrying its publish time (steady clock, ns), for bench/sse_bench.py and its
// load client bench/sse_load.cpp. The same shape on cpp-httplib: bench/sse_httplib.cpp.
//   sse_porthole --port N [--threads N] [--max-connections N] [--rate 100]
#include <porthole/porthole.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    auto options = porthole::server_options::from_command_line(argc, argv);
    double rate = std::atof(std::string(porthole::command_line_value(argc, argv, "--rate").value_or("100")).c_str());
    porthole::event_hub hub;  // outlives the publisher
    std::jthread publisher([&](std::stop_token stop) {
        auto period =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / rate));
        auto next = std::chrono::steady_clock::now();
        std::string pad(48, 'x');  // an event of about 100 bytes, a small status update
        while (!stop.stop_requested()) {
            next += period;
            std::this_thread::sleep_until(next);
            auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch());
            hub.publish("tick", "{\"t\":" + std::to_string(now.count()) + ",\"pad\":\"" + pad + "\"}");
        }
    });
    auto app =
        porthole::router(porthole::get<"/events">([&](porthole::request const& req) { return hub.subscribe(req); }));
    return porthole::serve(app, options);
}
