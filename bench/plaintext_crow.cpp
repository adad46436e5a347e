// The plaintext app on Crow (header-only, over standalone Asio: Debian's libasio-dev), the same
// as examples/hello.cpp: GET / answers "Hello, World!" as text/plain, any other path is 404.
// Crow is not in this repository: bench/compile_size.py --crow-include DIR compiles this file.
//   plaintext_crow --port N     prints "listening on http://127.0.0.1:PORT/", exits 0 on SIGINT/SIGTERM
#include <crow.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    }
    crow::SimpleApp app;
    app.loglevel(crow::LogLevel::Warning);  // no line per request
    CROW_ROUTE(app, "/")
    ([] {
        crow::response res("Hello, World!");
        res.set_header("Content-Type", "text/plain");
        return res;
    });
    // Crow stops itself on SIGINT and SIGTERM, and run() then returns.
    auto running = app.bindaddr("127.0.0.1").port(static_cast<std::uint16_t>(port)).run_async();
    if (app.wait_for_server_start() != std::cv_status::no_timeout) {
        std::fprintf(stderr, "could not listen on port %d\n", port);
        return 1;
    }
    std::printf("listening on http://127.0.0.1:%d/\n", app.port());
    std::fflush(stdout);
    running.get();
    return 0;
}
