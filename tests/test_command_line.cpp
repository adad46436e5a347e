// The command line every example shares (command_line.hpp), read into server_options without
// printing or exiting: every flag, its bounds, and the exact text of each refusal.
#include <porthole/command_line.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;

namespace {

porthole::command_line read(std::vector<char const*> argv) {
    return porthole::server_options::from_command_line(static_cast<int>(argv.size()), argv.data());
}

// The first line of a refusal: "PROGRAM: what is wrong" (a line naming --help follows).
std::string problem(porthole::command_line const& cl) { return cl.message.substr(0, cl.message.find('\n')); }

}  // namespace

TEST_CASE("the command line gives port, threads and address, and leaves other flags alone") {
    char const* argv[] = {"prog", "--port", "0", "--threads=3", "--root", "/srv", "--address", "::1"};
    auto cl = porthole::server_options::from_command_line(8, argv);
    REQUIRE(cl.ok());
    CHECK(cl.result == porthole::command_line::outcome::serve);
    CHECK(cl.exit_status() == 0);
    CHECK(cl.message.empty());
    auto const& o = cl.options;
    CHECK(o.port == 0);
    CHECK(o.threads == 3);
    CHECK(o.address == "::1");
    CHECK(o.announce);
    CHECK(o.handle_signals);
    CHECK(porthole::command_line_value(8, argv, "--root") == "/srv");
    CHECK(!porthole::command_line_value(8, argv, "--missing"));
    char const* none[] = {"prog"};
    CHECK(porthole::server_options::from_command_line(1, none).options.port == 8080);
}

TEST_CASE("a flag given more than once takes its last value, so a caller's flags after a script's win") {
    auto cl = read({"prog", "--port", "80", "--threads=2", "--header-timeout-ms", "100", "--tls-cert", "a.pem",
                    "--tls-key=a.key", "--port=0", "--threads", "5", "--header-timeout-ms=250", "--tls-cert=b.pem",
                    "--tls-key", "b.key"});
    REQUIRE(cl.ok());
    CHECK(cl.options.port == 0);
    CHECK(cl.options.threads == 5);
    CHECK(cl.options.header_timeout == 250ms);
    CHECK(std::string_view(cl.options.tls_cert_file) == "b.pem");
    CHECK(std::string_view(cl.options.tls_key_file) == "b.key");
    CHECK(problem(read({"prog", "--port", "80", "--port", "x"})) == "prog: --port needs a number from 0 to 65535");
    // A repeatable flag keeps every value, in order.
    auto addresses = read({"prog", "--address", "::1", "--address=127.0.0.1"});
    CHECK(addresses.options.address == "::1");
    CHECK(addresses.options.extra_addresses == std::vector<std::string>{"127.0.0.1"});
}

TEST_CASE("the command line sets the connection limit and every timeout, and keeps the defaults otherwise") {
    using namespace std::chrono_literals;
    char const* argv[] = {"prog",
                          "--max-connections",
                          "50",
                          "--header-timeout-ms=2500",
                          "--body-timeout-ms",
                          "3000",
                          "--keep-alive-timeout-ms",
                          "700",
                          "--write-timeout-ms",
                          "4000",
                          "--drain-timeout-ms",
                          "0"};
    auto o = porthole::server_options::from_command_line(12, argv).options;
    CHECK(o.max_connections == 50);
    CHECK(o.header_timeout == 2500ms);
    CHECK(o.body_timeout == 3000ms);
    CHECK(o.keep_alive_timeout == 700ms);
    CHECK(o.write_timeout == 4000ms);
    CHECK(o.drain_timeout == 0ms);
    char const* none[] = {"prog"};
    auto d = porthole::server_options::from_command_line(1, none).options;
    porthole::server_options defaults;
    CHECK(d.max_connections == defaults.max_connections);
    CHECK(d.header_timeout == defaults.header_timeout);
    CHECK(d.drain_timeout == defaults.drain_timeout);
    CHECK(d.listener_per_thread);
    char const* shared[] = {"prog", "--threads", "2", "--shared-listener"};
    auto s = porthole::server_options::from_command_line(4, shared).options;
    CHECK_FALSE(s.listener_per_thread);
    CHECK(s.threads == 2);
}

TEST_CASE("--help and malformed values are reported, never acted on: the process goes on") {
    // Each of these once ended the process from inside the library.
    char const* help[] = {"prog", "--port", "80", "--help"};
    auto h = porthole::server_options::from_command_line(4, help);
    CHECK(!h.ok());
    CHECK(h.result == porthole::command_line::outcome::help);
    CHECK(h.exit_status() == 0);
    CHECK(h.message.starts_with("usage: prog "));
    CHECK(h.message.find("--drain-timeout-ms") != std::string::npos);
    CHECK(h.message.find("--help, -h") != std::string::npos);  // the usage says how to see it again
    char const* dash_h[] = {"prog", "-h"};
    CHECK(porthole::server_options::from_command_line(2, dash_h).result == porthole::command_line::outcome::help);
    struct bad_case {
        std::vector<char const*> argv;
        char const* problem;
    };
    for (auto const& c : {
             bad_case{{"prog", "--port", "http"}, "prog: --port needs a number from 0 to 65535\n"},
             bad_case{{"prog", "--port=70000"}, "prog: --port needs a number from 0 to 65535\n"},
             bad_case{{"prog", "--threads", "-1"}, "prog: --threads needs a number from 0 to 1024\n"},
             bad_case{{"prog", "--address="}, "prog: --address needs a value\n"},
             // A second address given last without its value: not served with the first alone.
             bad_case{{"prog", "--address", "::1", "--address"}, "prog: --address needs a value\n"},
             bad_case{{"prog", "--max-connections", "0"},
                      "prog: --max-connections needs a number from 1 to 10000000\n"},
             bad_case{{"prog", "--body-timeout-ms", "soon"},
                      "prog: --body-timeout-ms needs milliseconds from 1 to 86400000\n"},
         }) {
        // Named copies: clang 14 cannot capture structured bindings in CAPTURE's lambda.
        auto const& argv = c.argv;
        char const* problem = c.problem;
        CAPTURE(problem);
        auto cl = porthole::server_options::from_command_line(static_cast<int>(argv.size()), argv.data());
        CHECK(!cl.ok());
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(cl.exit_status() == 2);
        // The problem, then where the usage is: the usage itself would push the problem off screen.
        CHECK(cl.message == std::string(problem) + "Try 'prog --help' for more information.\n");
    }
}

TEST_CASE("the command line takes repeated addresses and the socket file's mode, owner and group") {
    char const* argv[] = {"prog",           "--address", "127.0.0.1",     "--address=unix:/tmp/x.sock",
                          "--address",      "::1",       "--socket-mode", "600",
                          "--socket-group", "staff",     "--allow-host",  "a.internal"};
    auto cl = porthole::server_options::from_command_line(12, argv);
    REQUIRE(cl.ok());
    auto const& o = cl.options;
    CHECK(o.address == "127.0.0.1");
    CHECK(o.extra_addresses == std::vector<std::string>{"unix:/tmp/x.sock", "::1"});
    CHECK(o.unix_socket_mode == 0600);
    CHECK(o.unix_socket_group == "staff");
    CHECK(o.unix_socket_owner.empty());
    CHECK(o.allowed_hosts == std::vector<std::string>{"a.internal"});
    char const* empty[] = {"prog", "--address", "127.0.0.1", "--address="};
    auto refused = porthole::server_options::from_command_line(4, empty);
    CHECK(!refused.ok());
    CHECK(refused.message.find("--address needs a value") != std::string::npos);
}

TEST_CASE("numbers are accepted up to each flag's bound and refused beyond it, with the flag's own message") {
    struct bound {
        char const* flag;
        char const* highest;
        char const* beyond;
        char const* message;
    };
    for (auto const& b : {
             bound{"--port", "65535", "65536", "--port needs a number from 0 to 65535"},
             bound{"--threads", "1024", "1025", "--threads needs a number from 0 to 1024"},
             bound{"--max-connections", "10000000", "10000001", "--max-connections needs a number from 1 to 10000000"},
             bound{"--worker-threads", "4096", "4097", "--worker-threads needs a number from 1 to 4096"},
             bound{"--worker-queue", "10000000", "10000001", "--worker-queue needs a number from 0 to 10000000"},
             bound{"--header-timeout-ms", "86400000", "86400001",
                   "--header-timeout-ms needs milliseconds from 1 to 86400000"},
             bound{"--websocket-close-timeout-ms", "86400000", "86400001",
                   "--websocket-close-timeout-ms needs milliseconds from 0 to 86400000"},
         }) {
        std::string flag = b.flag;
        CAPTURE(flag);
        CHECK(read({"prog", b.flag, b.highest}).ok());
        for (char const* bad : {b.beyond, "", "-1", "+1", "1e3", "0x10", " 1", "1 ", "99999999999999999999999"}) {
            CAPTURE(std::string(bad));
            auto cl = read({"prog", b.flag, bad});
            CHECK(cl.result == porthole::command_line::outcome::invalid);
            CHECK(problem(cl) == "prog: " + std::string(b.message));
        }
    }
    // The lower bounds of the two that cannot be 0.
    CHECK(problem(read({"prog", "--max-connections=0"})) ==
          "prog: --max-connections needs a number from 1 to 10000000");
    CHECK(problem(read({"prog", "--worker-threads=0"})) == "prog: --worker-threads needs a number from 1 to 4096");
    CHECK(read({"prog", "--worker-queue=0"}).options.worker_queue == 0);
    // A timeout of 0 where it would read as "none" but drop every client not served within one
    // read (the loop takes it as 1 ms) is refused; where 0 means at once or none, it is taken.
    for (char const* flag : {"--header-timeout-ms", "--body-timeout-ms", "--keep-alive-timeout-ms",
                             "--write-timeout-ms", "--response-timeout-ms"}) {
        CAPTURE(std::string(flag));
        CHECK(problem(read({"prog", flag, "0"})) ==
              "prog: " + std::string(flag) + " needs milliseconds from 1 to 86400000");
        CHECK(read({"prog", flag, "1"}).ok());
    }
    auto zero = read({"prog", "--drain-timeout-ms=0", "--websocket-ping-ms=0", "--websocket-close-timeout-ms=0"});
    REQUIRE(zero.ok());
    CHECK(zero.options.drain_timeout.count() == 0);
    CHECK(zero.options.websocket_close_timeout.count() == 0);
}

TEST_CASE("every timeout flag sets its own field, and the worker pool's flags theirs") {
    auto o = read({"prog", "--response-timeout-ms", "1", "--websocket-ping-ms=0", "--websocket-close-timeout-ms", "2",
                   "--worker-threads", "3", "--worker-queue", "4"})
                 .options;
    porthole::server_options defaults;
    CHECK(o.response_timeout == 1ms);
    CHECK(o.websocket_ping_interval == 0ms);
    CHECK(o.websocket_close_timeout == 2ms);
    CHECK(o.worker_threads == 3);
    CHECK(o.worker_queue == 4);
    CHECK(o.header_timeout == defaults.header_timeout);
    CHECK(o.keep_alive_timeout == defaults.keep_alive_timeout);
}

TEST_CASE("a socket file's mode is octal, at most 07777") {
    auto mode = [](char const* value) {
        return read({"prog", "--address", "unix:/tmp/x.sock", "--socket-mode", value}).options.unix_socket_mode;
    };
    CHECK(mode("7777") == 07777);
    CHECK(mode("0640") == 0640);
    CHECK(mode("0") == 0);
    for (char const* bad : {"8", "19", "17777", "777777", "", "rw-", "-1"}) {
        CAPTURE(std::string(bad));
        CHECK(problem(read({"prog", "--address=unix:/tmp/x.sock", "--socket-mode", bad})) ==
              "prog: --socket-mode needs an octal mode such as 660");
    }
    auto o = read({"prog", "--socket-owner=www", "--socket-group", "web", "--address", "unix:x.sock"}).options;
    CHECK(o.unix_socket_owner == "www");
    CHECK(o.unix_socket_group == "web");
}

TEST_CASE("the socket file's flags need a unix: address, and values; --allow-host needs a name without a port") {
    for (char const* flag : {"--socket-mode", "--socket-owner", "--socket-group"}) {
        CAPTURE(std::string(flag));
        // Ignored in silence before: the server listened on TCP and no file had that mode or owner.
        CHECK(problem(read({"prog", flag, "600"})) ==
              "prog: " + std::string(flag) + " is for a Unix socket's file, and no --address unix:PATH is given");
        CHECK(problem(read({"prog", "--address", "127.0.0.1", flag, "600"})) ==
              "prog: " + std::string(flag) + " is for a Unix socket's file, and no --address unix:PATH is given");
        CHECK(read({"prog", "--address", "127.0.0.1", "--address", "unix:/run/x.sock", flag, "600"}).ok());
    }
    CHECK(problem(read({"prog", "--address", "unix:x.sock", "--socket-owner", ""})) ==
          "prog: --socket-owner needs a value");
    CHECK(problem(read({"prog", "--address", "unix:x.sock", "--socket-group="})) ==
          "prog: --socket-group needs a value");
    // Neither can ever match a Host the parser takes: accepted and useless before.
    for (char const* bad : {"", "a.internal:8080", "[::1]:80"}) {
        CAPTURE(std::string(bad));
        CHECK(problem(read({"prog", "--allow-host", "ok.internal", "--allow-host", bad})) ==
              "prog: --allow-host needs a host name, without a port");
    }
    CHECK(read({"prog", "--allow-host", "a.internal", "--allow-host=b.internal", "--allow-host", "[::1]"})
              .options.allowed_hosts == std::vector<std::string>{"a.internal", "b.internal", "[::1]"});
}

TEST_CASE("--tls-cert and --tls-key come together, each naming a file, kept as pointers into argv") {
    std::vector<char const*> argv{"prog", "--tls-cert", "cert.pem", "--tls-key=key.pem"};
    auto cl = read(argv);
    REQUIRE(cl.ok());
    CHECK(cl.options.tls_cert_file == argv[2]);
    CHECK(std::string_view(cl.options.tls_key_file) == "key.pem");
    CHECK(cl.options.tls_key_file == argv[3] + 10);
    CHECK(read({"prog"}).options.tls_cert_file == nullptr);
    for (auto const& bad : std::vector<std::vector<char const*>>{{"prog", "--tls-cert", "c.pem"},
                                                                 {"prog", "--tls-key", "k.pem"},
                                                                 {"prog", "--tls-cert=", "--tls-key=k.pem"},
                                                                 {"prog", "--tls-cert=c.pem", "--tls-key="}}) {
        CHECK(problem(read(bad)) == "prog: --tls-cert and --tls-key go together, each with a file");
    }
}

TEST_CASE("a refusal names the program, and one without argv[0] is \"server\"") {
    auto cl = read({"/usr/bin/my-app", "--threads", "many"});
    CHECK(cl.message ==
          "/usr/bin/my-app: --threads needs a number from 0 to 1024\n"
          "Try '/usr/bin/my-app --help' for more information.\n");
    CHECK(porthole::server_options::from_command_line(0, nullptr).ok());
    char const* argv0_missing[] = {nullptr};
    auto help = porthole::server_options::from_command_line(0, argv0_missing);
    CHECK(help.ok());
    CHECK(help.options.announce);
    CHECK(help.options.handle_signals);
}

TEST_CASE("--help wins over values, malformed ones too, wherever it is") {
    auto cl = read({"prog", "--port", "http", "-h"});
    CHECK(cl.result == porthole::command_line::outcome::help);
    CHECK(cl.exit_status() == 0);
    CHECK(cl.message.starts_with("usage: prog [--port N]"));
    CHECK(cl.message.ends_with("\n"));
}

TEST_CASE("report() prints help on stdout and a refusal on stderr, and returns the exit status") {
    auto captured = [](int fd, porthole::command_line const& cl, int& status) {
        std::fflush(nullptr);
        std::FILE* tmp = std::tmpfile();
        REQUIRE(tmp);
        int saved = ::dup(fd);
        ::dup2(::fileno(tmp), fd);
        status = cl.report();
        std::fflush(nullptr);
        ::dup2(saved, fd);
        ::close(saved);
        std::rewind(tmp);
        std::string text;
        char buf[512];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, tmp)) text.append(buf, n);
        std::fclose(tmp);
        return text;
    };
    int status = -1;
    auto help = read({"prog", "--help"});
    CHECK(captured(STDOUT_FILENO, help, status) == help.message);
    CHECK(status == 0);
    auto bad = read({"prog", "--port", "x"});
    CHECK(captured(STDERR_FILENO, bad, status) == bad.message);
    CHECK(status == 2);
}

TEST_CASE("command_line_value, command_line_values and command_line_flag read a program's own flags") {
    std::vector<char const*> argv{"prog",  "--root", "/srv",      "--rootless", "--tag=a",
                                  "--tag", "b",      "--verbose", "--tag"};
    int argc = static_cast<int>(argv.size());
    CHECK(porthole::command_line_value(argc, argv.data(), "--root") == "/srv");  // not --rootless
    CHECK(porthole::command_line_value(argc, argv.data(), "--tag") == "b");      // the last with a value
    CHECK_FALSE(porthole::command_line_value(argc, argv.data(), "--verbos").has_value());
    CHECK(porthole::command_line_values(argc, argv.data(), "--tag") == std::vector<std::string_view>{"a", "b"});
    CHECK(porthole::command_line_flag(argc, argv.data(), "--verbose"));
    CHECK_FALSE(porthole::command_line_flag(argc, argv.data(), "--verb"));
    CHECK_FALSE(porthole::command_line_flag(argc, argv.data(), "prog"));  // argv[0] is no flag
    std::vector<char const*> last{"prog", "--root"};
    CHECK_FALSE(porthole::command_line_value(2, last.data(), "--root").has_value());  // no value to give
}

TEST_CASE("an unknown flag one edit from one of porthole's is refused as a typo, with the flag it resembles") {
    struct typo {
        std::vector<char const*> argv;
        char const* problem;
    };
    for (auto const& c : {
             typo{{"prog", "--thread", "4"}, "prog: unknown flag --thread; did you mean --threads?"},
             typo{{"prog", "--port", "0", "--prot=80"}, "prog: unknown flag --prot; did you mean --port?"},
             typo{{"prog", "-port", "80"}, "prog: unknown flag -port; did you mean --port?"},
             typo{{"prog", "--max-connection", "5"},
                  "prog: unknown flag --max-connection; did you mean --max-connections?"},
             typo{{"prog", "--body-timeout-ns", "5"},
                  "prog: unknown flag --body-timeout-ns; did you mean --body-timeout-ms?"},
             typo{{"prog", "--shared-listner"}, "prog: unknown flag --shared-listner; did you mean --shared-listener?"},
             typo{{"prog", "--hepl"}, "prog: unknown flag --hepl; did you mean --help?"},
             typo{{"prog", "--tls-cert", "c.pem", "--tls-kye", "k.pem"},
                  "prog: unknown flag --tls-kye; did you mean --tls-key?"},
             // A timeout without its unit, however far from the flag in edits.
             typo{{"prog", "--header-timeout", "5"},
                  "prog: unknown flag --header-timeout; did you mean --header-timeout-ms?"},
             typo{{"prog", "--websocket-close-timeout=5"},
                  "prog: unknown flag --websocket-close-timeout; did you mean --websocket-close-timeout-ms?"},
         }) {
        auto const& argv = c.argv;
        std::string expected = c.problem;
        CAPTURE(expected);
        auto cl = read(argv);
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(cl.exit_status() == 2);
        CHECK(problem(cl) == expected);
    }
    // --help still wins, and a flag's value is its value, whatever it looks like.
    CHECK(read({"prog", "--thread", "4", "--help"}).result == porthole::command_line::outcome::help);
    auto value = read({"prog", "--tls-key", "-port", "--tls-cert=-prot", "--allow-host=--thread"});
    REQUIRE(value.ok());
    CHECK(std::string_view(value.options.tls_key_file) == "-port");
    // A program's own flag's value is not known to be one: written with `=` when it looks like a typo.
    CHECK(read({"prog", "--root=-port"}).ok());
    CHECK(problem(read({"prog", "--root", "-port"})) == "prog: unknown flag -port; did you mean --port?");
    // The examples' own flags and other programs' are further off, and stay the program's.
    for (char const* own : {"--root", "--websocket-ping", "--rate", "--rate-limit", "--verbose", "--gzip", "--metrics",
                            "--pages", "--access-log", "--max-upload", "--ports-file", "-v", "-p", "--", "-"}) {
        CAPTURE(own);
        CHECK(read({"prog", own, "--threads", "2"}).ok());
    }
}

TEST_CASE("a program that lists its own flags has them in --help, their values taken, every other flag refused") {
    auto read_own = [](std::vector<char const*> argv) {
        return porthole::server_options::from_command_line(
            static_cast<int>(argv.size()), argv.data(),
            {{"--root DIR", "the folder to serve (default .)"}, {"--gzip", "compress answers"}});
    };
    auto help = read_own({"prog", "--help"});
    REQUIRE(help.result == porthole::command_line::outcome::help);
    CHECK(
        help.message.starts_with("usage: prog [--root DIR] [--gzip] [porthole's flags]\n"
                                 "  --root DIR    the folder to serve (default .)\n"
                                 "  --gzip        compress answers\n"
                                 "porthole's flags: [--port N] [--threads N]"));
    CHECK(help.message.find("\n  --port N      TCP port") != std::string::npos);
    // Its flags, with their values however they look, and porthole's.
    auto cl = read_own({"prog", "--root", "-port", "--gzip", "--threads", "2", "-", "file.txt"});
    REQUIRE(cl.ok());
    CHECK(cl.options.threads == 2);
    CHECK(read_own({"prog", "--root=/srv", "--port=0"}).ok());
    CHECK(problem(read_own({"prog", "--gzip", "--root"})) == "prog: --root needs a value");
    CHECK(problem(read_own({"prog", "--root", "--gzip"})) == "prog: --root needs a value");
    CHECK(problem(read_own({"prog", "--rot", "/srv"})) == "prog: unknown flag --rot; did you mean --root?");
    CHECK(problem(read_own({"prog", "--gzpi"})) == "prog: unknown flag --gzpi; did you mean --gzip?");
    CHECK(problem(read_own({"prog", "--verbose"})) == "prog: unknown flag --verbose");
    CHECK(problem(read_own({"prog", "-v"})) == "prog: unknown flag -v");
    auto refused = read_own({"prog", "--verbose"});
    CHECK(refused.exit_status() == 2);
    CHECK(refused.message ==
          "prog: unknown flag --verbose\nTry 'prog --help' for more information.\n");  // not the whole usage
    // A flag without a value takes none; a value is its value, even -h or --help; a negative
    // number is an argument.
    CHECK(problem(read_own({"prog", "--gzip=yes"})) == "prog: --gzip takes no value");
    CHECK(problem(read({"prog", "--shared-listener=1"})) == "prog: --shared-listener takes no value");
    CHECK(read_own({"prog", "--root", "-h"}).ok());
    CHECK(read_own({"prog", "--root", "--help"}).result == porthole::command_line::outcome::invalid);  // needs a value
    CHECK(read_own({"prog", "--root=--help"}).ok());
    CHECK(read({"prog", "--tls-cert", "-h", "--tls-key", "k.pem"}).ok());
    CHECK(read_own({"prog", "-5", "--threads", "2"}).ok());
    // What follows a lone -- stays the program's.
    CHECK(read_own({"prog", "--", "--verbose"}).ok());
    // A program that lists none keeps its flags its own, as before.
    CHECK(read({"prog", "--verbose"}).ok());
}

TEST_CASE("a program's list of flags that cannot work is refused on the first run") {
    auto listing = [](porthole::program_flag f) {
        char const* argv[] = {"prog"};
        return porthole::server_options::from_command_line(1, argv, {{"--root DIR", "a folder"}, f});
    };
    for (auto usage : {"--port N", "--threads", "-h HOST", "--help", "--root", "--root=DIR", "", " --x", "root", "-"}) {
        CAPTURE(usage);
        auto cl = listing({usage, "about"});
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(problem(cl).starts_with(std::string("prog: the program lists the flag \"") + usage + "\""));
        CHECK(cl.message.find("Try '") == std::string::npos);  // --help would meet the same list
    }
    CHECK(listing({"--gzip", "compress"}).ok());
    CHECK(listing({"-v", "more output"}).ok());
}

TEST_CASE("a program's flag listed with its numbers is checked as porthole's are, and command_line_number reads it") {
    auto read_numbers = [](std::vector<char const*> argv) {
        return porthole::server_options::from_command_line(
            static_cast<int>(argv.size()), argv.data(),
            {{"--level N", "the level, 1 to 9", {1, 9}},
             {"--offset N", "from -5 to 5", porthole::number_range{-5, 5}},
             {"--name NAME", "any text"}});
    };
    CHECK(read_numbers({"prog", "--level", "1", "--level=9", "--offset", "-5", "--offset=5", "--name", "x"}).ok());
    CHECK(read_numbers({"prog", "--level", "1", "--offset", "-5"}).ok());  // both ends are in
    CHECK(read_numbers({"prog", "--level", "007", "--offset=-0"}).ok());
    for (char const* bad : {"0", "10", "", "x", "1.5", "+3", " 3", "3 ", "0x3", "-1", "99999999999999999999"}) {
        CAPTURE(bad);
        auto cl = read_numbers({"prog", "--level", bad});
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(cl.exit_status() == 2);
        CHECK(problem(cl) == "prog: --level needs a number from 1 to 9");
    }
    CHECK(problem(read_numbers({"prog", "--offset=6"})) == "prog: --offset needs a number from -5 to 5");
    CHECK(problem(read_numbers({"prog", "--offset", "-6"})) == "prog: --offset needs a number from -5 to 5");
    // The value read is the one checked: the last given.
    CHECK(read_numbers({"prog", "--level", "x", "--level", "3"}).ok());
    CHECK_FALSE(read_numbers({"prog", "--level", "3", "--level", "x"}).ok());
    // A flag without numbers takes any value; a missing one, --help and typos as for any flag.
    CHECK(read_numbers({"prog", "--name", "-5"}).ok());
    CHECK(problem(read_numbers({"prog", "--level"})) == "prog: --level needs a value");
    CHECK(read_numbers({"prog", "--level", "x", "--help"}).result == porthole::command_line::outcome::help);
    CHECK(problem(read_numbers({"prog", "--levl", "3"})) == "prog: unknown flag --levl; did you mean --level?");

    std::vector<char const*> argv{"prog",
                                  "--level",
                                  "3",
                                  "--offset=-4",
                                  "--level",
                                  "7",
                                  "--name",
                                  "x",
                                  "--big",
                                  "9223372036854775807",
                                  "--least=-9223372036854775808",
                                  "--over",
                                  "9223372036854775808"};
    int argc = static_cast<int>(argv.size());
    CHECK(porthole::command_line_number(argc, argv.data(), "--level") == 7);
    CHECK(porthole::command_line_number(argc, argv.data(), "--offset") == -4);
    CHECK(porthole::command_line_number(argc, argv.data(), "--big") == INT64_MAX);
    CHECK(porthole::command_line_number(argc, argv.data(), "--least") == INT64_MIN);
    CHECK_FALSE(porthole::command_line_number(argc, argv.data(), "--depth").has_value());
    // A value that is no whole number is not taken for an absent one.
    CHECK_THROWS_WITH_AS(porthole::command_line_number(argc, argv.data(), "--name"),
                         "--name needs a 64-bit whole number", std::invalid_argument);
    CHECK_THROWS_WITH_AS(porthole::command_line_number(argc, argv.data(), "--over"),
                         "--over needs a 64-bit whole number", std::invalid_argument);

    // Numbers for a flag that takes no value, or an empty range: a list that cannot work.
    auto listing = [](porthole::program_flag f, std::vector<char const*> argv = {"prog"}) {
        return porthole::server_options::from_command_line(static_cast<int>(argv.size()), argv.data(), {f});
    };
    for (auto const& f : {porthole::program_flag{"--fast", "no value", porthole::number_range{1, 2}},
                          porthole::program_flag{"--level N", "backwards", porthole::number_range{9, 1}}}) {
        CAPTURE(f.usage);
        auto cl = listing(f);
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(problem(cl).starts_with(std::string("prog: the program lists the flag \"") + std::string(f.usage) +
                                      "\" with numbers"));
    }
    porthole::program_flag const four{"--level N", "one number", porthole::number_range{4, 4}};
    CHECK(listing(four).ok());
    CHECK(listing(four, {"prog", "--level", "4"}).ok());
    CHECK(problem(listing(four, {"prog", "--level", "3"})) == "prog: --level needs a number from 4 to 4");
    CHECK(problem(listing(four, {"prog", "--level", "5"})) == "prog: --level needs a number from 4 to 4");
}

TEST_CASE("a lone -- ends the flags: what follows is the program's, read by no reader, refused by no check") {
    // A program that runs a child command passes it whole: not read, not a typo, not help.
    auto cl = read({"prog", "--port", "0", "--", "child", "--thread", "4", "--port", "9", "--help", "--port"});
    REQUIRE(cl.ok());
    CHECK(cl.options.port == 0);
    CHECK(read({"prog", "--", "--tls-cert", "c.pem"}).options.tls_cert_file == nullptr);
    // A flag before it still needs its value before it.
    CHECK(problem(read({"prog", "--port", "--", "80"})) == "prog: --port needs a value");
    // The program's own readers stop there too.
    std::vector<char const*> argv{"prog", "--root", "/srv", "--tag=a", "--", "--tag", "b", "--verbose", "--db", "x"};
    int argc = static_cast<int>(argv.size());
    CHECK(porthole::command_line_value(argc, argv.data(), "--root") == "/srv");
    CHECK_FALSE(porthole::command_line_value(argc, argv.data(), "--db").has_value());
    CHECK(porthole::command_line_values(argc, argv.data(), "--tag") == std::vector<std::string_view>{"a"});
    CHECK_FALSE(porthole::command_line_flag(argc, argv.data(), "--verbose"));
    std::vector<char const*> ends{"prog", "--root", "--", "/srv"};  // its value would be past the end
    CHECK_FALSE(porthole::command_line_value(4, ends.data(), "--root").has_value());
    CHECK(read({"prog", "--help", "--"}).result == porthole::command_line::outcome::help);
}

TEST_CASE("one_edit_apart: one character added, dropped or changed, or two neighbours swapped") {
    using porthole::detail::one_edit_apart;
    CHECK(one_edit_apart("--port", "--prot"));   // swapped
    CHECK(one_edit_apart("--port", "--pot"));    // dropped
    CHECK(one_edit_apart("--ports", "--port"));  // added, at the end
    CHECK(one_edit_apart("--sport", "--port"));  // added, inside
    CHECK(one_edit_apart("--part", "--port"));   // changed
    CHECK(one_edit_apart("ab", "ba"));
    CHECK(one_edit_apart("", "a"));
    CHECK_FALSE(one_edit_apart("--port", "--port"));  // none
    CHECK_FALSE(one_edit_apart("--port", "--pro"));   // two
    CHECK_FALSE(one_edit_apart("abc", "cba"));
    CHECK_FALSE(one_edit_apart("--port", "--root"));
    CHECK_FALSE(one_edit_apart("a", "abc"));
}

TEST_CASE("a flag that takes a value, given without one (last, or before another flag), is refused") {
    for (char const* flag : {"--port",
                             "--threads",
                             "--address",
                             "--socket-mode",
                             "--socket-owner",
                             "--socket-group",
                             "--allow-host",
                             "--tls-cert",
                             "--tls-key",
                             "--max-connections",
                             "--worker-threads",
                             "--worker-queue",
                             "--header-timeout-ms",
                             "--body-timeout-ms",
                             "--keep-alive-timeout-ms",
                             "--write-timeout-ms",
                             "--drain-timeout-ms",
                             "--response-timeout-ms",
                             "--websocket-ping-ms",
                             "--websocket-close-timeout-ms"}) {
        std::string name = flag;
        CAPTURE(name);
        auto cl = read({"prog", "--threads", "2", flag});
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(problem(cl) == "prog: " + name + " needs a value");
        // Not the next flag taken as its value (`--socket-owner --threads` owned by "--threads").
        auto before = read({"prog", flag, "--threads", "2"});
        CHECK(before.result == porthole::command_line::outcome::invalid);
        CHECK(problem(before) == "prog: " + name + " needs a value");
        CHECK(problem(read({"prog", flag, "--shared-listener"})) == "prog: " + name + " needs a value");
    }
    // The flags that take none, and a program's own flags, may come last or before another flag.
    CHECK(read({"prog", "--shared-listener"}).ok());
    CHECK(read({"prog", "--root"}).ok());
    CHECK(read({"prog", "--root", "--port", "0"}).ok());
    CHECK(read({"prog", "--shared-listener", "--port", "0"}).options.port == 0);
    // A value may begin with "--" when it is given with `=`, and one dash is no flag.
    auto odd = read({"prog", "--tls-cert=--chain.pem", "--tls-key", "-key.pem"});
    REQUIRE(odd.ok());
    CHECK(std::string_view(odd.options.tls_cert_file) == "--chain.pem");
    CHECK(std::string_view(odd.options.tls_key_file) == "-key.pem");
}

TEST_CASE("every flag --help shows with a value (\"--port N\") is refused when given without one") {
    // The help text is where a new flag is written down: one it lists and the check above does
    // not know would be ignored when given last, or would take the flag after it as its value.
    auto help = read({"prog", "--help"}).message;
    std::vector<std::string> flags;
    for (std::size_t at = help.find("--"); at != std::string::npos; at = help.find("--", at + 2)) {
        std::size_t end = help.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", at + 2);
        if (end == std::string::npos || help[end] != ' ' || end + 1 >= help.size()) continue;
        char next = help[end + 1];
        if (next < 'A' || next > 'Z') continue;  // "--shared-listener      one listener": no value
        std::string flag = help.substr(at, end - at);
        if (std::find(flags.begin(), flags.end(), flag) == flags.end()) flags.push_back(flag);
    }
    CHECK(flags.size() >= 15);
    CHECK(std::find(flags.begin(), flags.end(), "--tls-key") != flags.end());
    for (auto const& flag : flags) {
        CAPTURE(flag);
        auto cl = read({"prog", flag.c_str()});
        CHECK(cl.result == porthole::command_line::outcome::invalid);
        CHECK(problem(cl) == "prog: " + flag + " needs a value");
        CHECK(problem(read({"prog", flag.c_str(), "--port", "0"})) == "prog: " + flag + " needs a value");
    }
}
