// A loop serving the server's one client (its few connections, all on that loop, whose packets
// arrive on one CPU) runs on that CPU, and lets go when a connection comes from another CPU or on
// another loop, when the client goes quiet or leaves (client_affinity.hpp), and while a trial finds
// the client served faster apart (follow_trial's own rule: test_follow_trial.cpp).
// The handler reports the CPUs its own thread (the loop's) may run on, as the kernel says. The
// servers here follow always: which way a real client is served faster depends on the machine.
#include <porthole/server.hpp>

#include "server/client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using test_client::connection;

// A failed check shows the CPUs the handler reported, or that no answer came.
template <>
struct doctest::StringMaker<std::optional<std::string>> {
    static doctest::String convert(std::optional<std::string> const& s) {
        return s ? doctest::String(("\"" + *s + "\"").c_str()) : doctest::String("no answer");
    }
};

namespace {

std::string cpu_list(cpu_set_t const& set) {
    std::string out;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (!out.empty()) out += ',';
        out += std::to_string(cpu);
    }
    return out;
}

std::string own_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return "error";
    return cpu_list(set);
}

// More than the socket buffers hold while its client has not begun to read: the sender's at
// most net.ipv4.tcp_wmem's largest (4 MiB by default), the receiver's its initial size (a receive
// buffer grows only as its reader takes data).
constexpr std::size_t big_answer = 8u << 20;

porthole::response app(porthole::request const& r) {
    if (r.path() == "/cpus") return porthole::response::text(own_cpus());
    if (r.path() == "/big") return porthole::response::text(std::string(big_answer, 'b'));
    return porthole::response::text("Hello, World!");
}

porthole::server_options test_options(unsigned threads) {
    porthole::server_options o;
    o.port = 0;
    o.threads = threads;
    o.single_client_affinity = porthole::follow_client::always;
    return o;
}

std::optional<std::string> ask(connection& c, std::string_view path) {
    if (!c.get(path)) return std::nullopt;
    auto r = c.read_reply();
    if (!r || r->status != 200) return std::nullopt;
    return r->body;
}

// Requests enough for the loop to settle on a client and read its CPU once more: n rounds, each
// asking on every one of the client's connections in turn.
bool keep_asking(std::span<connection> cs, int n = 100) {
    for (int i = 0; i < n; ++i) {
        for (auto& c : cs)
            if (!ask(c, "/")) return false;
    }
    return true;
}

bool keep_asking(connection& c, int n = 100) { return keep_asking({&c, 1}, n); }

std::vector<connection> connections(std::uint16_t port, std::size_t n) {
    std::vector<connection> cs;
    cs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) cs.emplace_back(port);
    return cs;
}

// Asks until the loop runs on `cpu` (what a client sees once the server counts it alone), for up
// to about 5 s; the CPUs the handler reported last.
std::optional<std::string> followed_after_a_while(std::span<connection> cs, int cpu) {
    std::optional<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    do {
        if (!keep_asking(cs)) return std::nullopt;
        seen = ask(cs.front(), "/cpus");
    } while (seen != std::to_string(cpu) && std::chrono::steady_clock::now() < deadline);
    return seen;
}

std::optional<std::string> followed_after_a_while(connection& c, int cpu) {
    return followed_after_a_while({&c, 1}, cpu);
}

// Holds the calling thread on one CPU (the client's packets are then handled there) and gives
// it back its former CPUs when done.
class on_cpu {
public:
    explicit on_cpu(int cpu) {
        CPU_ZERO(&before_);
        ::sched_getaffinity(0, sizeof before_, &before_);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ok_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
    }
    on_cpu(on_cpu const&) = delete;
    on_cpu& operator=(on_cpu const&) = delete;
    ~on_cpu() { ::sched_setaffinity(0, sizeof before_, &before_); }
    bool ok() const { return ok_; }

private:
    cpu_set_t before_;
    bool ok_ = false;
};

// The first n CPUs this process may use, in order, or nothing when it may use fewer.
std::vector<int> first_cpus(std::size_t n) {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> out;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
    for (int cpu = 0; cpu < CPU_SETSIZE && out.size() < n; ++cpu)
        if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
    if (out.size() < n) out.clear();
    return out;
}

// The first two CPUs this process may use, or nothing on a single-CPU machine.
std::optional<std::pair<int, int>> two_cpus() {
    auto cpus = first_cpus(2);
    if (cpus.empty()) return std::nullopt;
    return std::pair{cpus[0], cpus[1]};
}

// n loopback TCP connections, accepted: the server's ends and the clients' ends.
class loopback_pairs {
public:
    explicit loopback_pairs(int n) {
        int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        bool listening = l >= 0 && ::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(l, n) == 0 &&
                         ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
        for (int i = 0; listening && i < n; ++i) {
            int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (c < 0) break;
            clients_.push_back(c);
            if (::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) break;
            int s = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
            if (s < 0) break;
            servers_.push_back(s);
        }
        ok_ = listening && servers_.size() == static_cast<std::size_t>(n);
        if (l >= 0) ::close(l);
    }
    loopback_pairs(loopback_pairs const&) = delete;
    loopback_pairs& operator=(loopback_pairs const&) = delete;
    ~loopback_pairs() {
        for (int fd : servers_) ::close(fd);
        for (int fd : clients_) ::close(fd);
    }
    bool ok() const { return ok_; }
    std::span<int const> servers() const { return servers_; }
    int client(std::size_t i) const { return clients_[i]; }

private:
    std::vector<int> servers_, clients_;
    bool ok_ = false;
};

// A byte from a thread held on `cpu`: over loopback the kernel handles the packet on the sender's
// CPU, so the receiving socket reports that CPU.
void send_from(int fd, int cpu) {
    std::thread([&] {
        on_cpu there(cpu);
        CHECK(there.ok());  // CHECK: a REQUIRE's exception must not leave a thread
        CHECK(::send(fd, "x", 1, MSG_NOSIGNAL) == 1);
    }).join();
}

double cpu_seconds_of_process() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

TEST_CASE("the only client's loop runs on that client's CPU, follows it, and lets go for a second connection") {
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    std::string all = own_cpus();
    porthole::server s(app, test_options(2));
    s.start();  // before the client holds its thread on one CPU: the loops' CPUs are the program's
    connection a(s.port());
    REQUIRE(a.ok());
    {
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        CHECK(ask(a, "/cpus") == all);  // a new client moves nothing
        REQUIRE(keep_asking(a));
        CHECK(ask(a, "/cpus") == std::to_string(cpus->first));
    }
    {
        on_cpu here(cpus->second);  // the client moves: the loop goes after it
        REQUIRE(here.ok());
        // at once: the wake-up that reads the first request sent from the new CPU moves the loop
        REQUIRE(ask(a, "/"));
        CHECK(ask(a, "/cpus") == std::to_string(cpus->second));
        REQUIRE(keep_asking(a));
        CHECK(ask(a, "/cpus") == std::to_string(cpus->second));

        // A second connection from another CPU: the server has two clients, nobody is followed.
        // Which loop takes it is the kernel's choice: on a's, the two CPUs differ; on the
        // other, a's loop does not hold all the connections (the next test case has one loop).
        {
            connection b(s.port());
            REQUIRE(b.ok());
            {
                on_cpu there(cpus->first);
                REQUIRE(there.ok());
                REQUIRE(keep_asking(b));  // awake, as a's are
            }
            REQUIRE(ask(a, "/"));  // a's loop looks at the server's connections after each wake-up
            // At once: a quiet connection's late ACKs (40 ms on) come from the CPU its last
            // answer was sent on, which can make it look like a's (docs/server.md).
            CHECK(ask(a, "/cpus") == all);
        }
        // b has gone: a is alone again, and followed again once it has asked a while. b's loop
        // may be another thread, which counts b out only when the scheduler next runs it.
        CHECK(followed_after_a_while(a, cpus->second) == std::to_string(cpus->second));
        a.close();
        // The loop let go when a left: a new client finds it free (once the wake-up that saw a
        // leave, at the latest the one answering c's first request, is over).
        connection c(s.port());
        REQUIRE(ask(c, "/"));
        CHECK(ask(c, "/cpus") == all);
    }
}

TEST_CASE("one client's few connections on one loop are followed together, not a second client's, nor many") {
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    std::string all = own_cpus();
    porthole::server s(app, test_options(1));
    s.start();
    SUBCASE("two, then a third from another CPU") {
        auto cs = connections(s.port(), 2);
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        REQUIRE(keep_asking(cs));
        CHECK(ask(cs[0], "/cpus") == std::to_string(cpus->first));
        CHECK(ask(cs[1], "/cpus") == std::to_string(cpus->first));
        {
            on_cpu there(cpus->second);  // the client moves: the loop goes after it
            REQUIRE(there.ok());
            CHECK(followed_after_a_while(cs, cpus->second) == std::to_string(cpus->second));
        }
        REQUIRE(keep_asking(cs));  // and back
        CHECK(ask(cs[0], "/cpus") == std::to_string(cpus->first));
        {
            connection other(s.port());
            {
                on_cpu there(cpus->second);
                REQUIRE(there.ok());
                REQUIRE(keep_asking(other));  // awake, as the client's two are
            }
            CHECK(ask(cs[0], "/cpus") == all);  // at once, as above
        }
        // The other client has gone: its connection closed, the two are followed again.
        CHECK(followed_after_a_while(cs, cpus->first) == std::to_string(cpus->first));
    }
    SUBCASE("another client's connection, asleep, is not looked at") {
        auto cs = connections(s.port(), 2);
        connection other(s.port());
        {
            on_cpu there(cpus->second);
            REQUIRE(there.ok());
            REQUIRE(ask(other, "/"));  // one request: it gives its state back at once
        }
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        REQUIRE(keep_asking(cs));
        CHECK(ask(cs[0], "/cpus") == std::to_string(cpus->first));
        {
            on_cpu there(cpus->second);  // its second request wakes it: two CPUs, nobody followed
            REQUIRE(there.ok());
            REQUIRE(ask(other, "/"));
        }
        CHECK(ask(cs[0], "/cpus") == all);  // at once: read at the wake-up that answered it
    }
    SUBCASE("more than most_connections") {
        auto cs = connections(s.port(), porthole::detail::client_affinity::most_connections + 1);
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        REQUIRE(keep_asking(cs));
        CHECK(ask(cs[0], "/cpus") == all);
        cs.pop_back();  // as many as are followed
        CHECK(followed_after_a_while(cs, cpus->first) == std::to_string(cpus->first));
    }
}

TEST_CASE("a client that goes quiet or takes a long answer lets its loop go; follow_client::never never holds it") {
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    std::string all = own_cpus();
    SUBCASE("quiet") {
        auto o = test_options(1);
        o.keep_alive_timeout = 800ms;  // an idle connection gives its state back after about 200 ms
        porthole::server s(app, o);
        s.start();  // before the client holds its thread on one CPU: the loop's are the program's
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        connection a(s.port());
        REQUIRE(keep_asking(a));
        CHECK(ask(a, "/cpus") == std::to_string(cpus->first));
        std::this_thread::sleep_for(500ms);
        CHECK(ask(a, "/cpus") == all);
    }
    SUBCASE("a long answer") {  // client and server both busy: they need two CPUs
        porthole::server s(app, test_options(1));
        s.start();
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        connection a(s.port());
        REQUIRE(keep_asking(a));
        CHECK(ask(a, "/cpus") == std::to_string(cpus->first));
        // The client waits before it reads: the answer cannot leave at once, whatever the
        // scheduler does with the two threads.
        REQUIRE(a.get("/big"));
        std::this_thread::sleep_for(100ms);
        auto big = a.read_reply();
        REQUIRE(big);
        CHECK(big->status == 200);
        CHECK(big->body.size() == big_answer);
        CHECK(ask(a, "/cpus") == all);
    }
    SUBCASE("off") {
        auto o = test_options(1);
        o.single_client_affinity = porthole::follow_client::never;
        porthole::server s(app, o);
        s.start();
        on_cpu here(cpus->first);
        REQUIRE(here.ok());
        connection a(s.port());
        REQUIRE(keep_asking(a, 200));
        CHECK(ask(a, "/cpus") == all);
    }
}

TEST_CASE("poll() never moves the caller's thread") {
    if (!two_cpus()) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    std::string all = own_cpus();
    porthole::server s(app, test_options(1));
    REQUIRE(s.native_handle() >= 0);
    std::optional<std::string> seen;  // the client's; read after join()
    std::atomic<bool> done{false};
    std::thread client([&, port = s.port()] {
        connection a(port);
        if (keep_asking(a)) seen = ask(a, "/cpus");
        done = true;
    });
    auto end = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < end) s.poll(10ms);
    client.join();
    CHECK(seen == all);
    CHECK(own_cpus() == all);
}

TEST_CASE("an idle server uses no CPU, with its only client followed and then quiet") {
    porthole::server s(app, test_options(2));
    s.start();
    connection a(s.port());
    REQUIRE(keep_asking(a));
    double before = cpu_seconds_of_process();
    std::this_thread::sleep_for(1s);
    double used = cpu_seconds_of_process() - before;
    CHECK(used < 0.05);  // nothing spins: a loop that did would show close to a second
    CHECK(ask(a, "/"));
}

TEST_CASE("connections on two CPUs are read again after 2, 4, ... 1024 wake-ups") {
    using porthole::detail::client_affinity;
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    loopback_pairs pairs(2);
    REQUIRE(pairs.ok());
    // Wake-ups until the thread follows once the two connections agree, counted from the k-th
    // look that found them on two CPUs (the first look is the settle_wakeups-th wake-up); -1 for
    // never within 4096, -2 if it followed before they agreed.
    auto wakeups_to_follow = [&](int k) {
        int counted = -1;
        std::thread([&] {  // a thread of its own: following moves it
            client_affinity follower;
            follower.enable(true, false);
            send_from(pairs.client(0), cpus->first);
            send_from(pairs.client(1), cpus->second);
            std::uint64_t looked = client_affinity::settle_wakeups;
            for (int j = 1; j < k; ++j) looked += 1u << std::min<unsigned>(j, client_affinity::max_backoff_doublings);
            for (std::uint64_t i = 0; i < looked; ++i) follower.step(pairs.servers(), 0, 0);
            if (follower.cpu() != -1) {
                counted = -2;
                return;
            }
            send_from(pairs.client(1), cpus->first);
            for (int i = 1; i <= 4096 && counted < 0; ++i) {
                follower.step(pairs.servers(), 0, 0);
                if (follower.cpu() == cpus->first) counted = i;
            }
        })
            .join();
        return counted;
    };
    CHECK(wakeups_to_follow(1) == 2);
    CHECK(wakeups_to_follow(2) == 4);
    CHECK(wakeups_to_follow(3) == 8);
    CHECK(wakeups_to_follow(10) == 1024);
    CHECK(wakeups_to_follow(12) == 1024);  // no longer than that

    // A connection with no CPU (a Unix socket) starts the same back-off: at the first look the
    // thread is let go, and the CPUs are read again two wake-ups on.
    int unix_pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, unix_pair) == 0);
    int counted = -1;
    std::thread([&] {
        client_affinity follower;
        follower.enable(true, false);
        for (std::uint64_t i = 0; i < client_affinity::settle_wakeups; ++i) follower.step({unix_pair, 1}, 0, 0);
        send_from(pairs.client(0), cpus->first);
        send_from(pairs.client(1), cpus->first);
        for (int i = 1; i <= 4096 && counted < 0; ++i) {
            follower.step(pairs.servers(), 0, 0);
            if (follower.cpu() == cpus->first) counted = i;
        }
    }).join();
    CHECK(counted == 2);
    ::close(unix_pair[0]);
    ::close(unix_pair[1]);
}

TEST_CASE("a loop thread that may run on one CPU only stops following: there is nothing to choose") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    auto settle_and_look = [&] {
        porthole::detail::client_affinity follower;
        follower.enable(true, true);  // measured
        for (std::uint64_t i = 0; i <= porthole::detail::client_affinity::settle_wakeups; ++i)
            follower.step({fds, 1}, 0, 0);
        return follower;
    };
    if (two_cpus()) {  // two CPUs: it keeps looking at its client
        auto follower = settle_and_look();
        CHECK(follower.enabled());
        CHECK(follower.cpu() == -1);  // a Unix socket says no CPU: nobody is followed
    }
    auto cpus = first_cpus(1);
    REQUIRE(cpus.size() == 1);
    int first = cpus[0];
    {
        on_cpu here(first);
        REQUIRE(here.ok());
        auto follower = settle_and_look();
        CHECK_FALSE(follower.enabled());  // no system call at each wake-up from here on
        CHECK(follower.cpu() == -1);
        CHECK(own_cpus() == std::to_string(first));
    }
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("a measured follower lets go of a client served faster apart, and follows one served faster followed") {
    using porthole::detail::client_affinity;
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    loopback_pairs pairs(1);
    REQUIRE(pairs.ok());
    send_from(pairs.client(0), cpus->first);
    // The CPU held after 5 s of wake-ups, 8 a millisecond, and whether it followed meanwhile.
    auto after_five_seconds = [&](std::uint64_t along, std::uint64_t apart) {
        std::pair<int, bool> out{-2, false};
        std::thread([&] {  // a thread of its own: following moves it
            client_affinity follower;
            follower.enable(true, true);  // measured
            std::uint64_t work = 0;
            for (std::int64_t now = 0; now < 5000; ++now) {
                for (int k = 0; k < 8; ++k) {
                    follower.step(pairs.servers(), now, work);
                    work += follower.cpu() == cpus->first ? along : apart;
                    out.second = out.second || follower.cpu() == cpus->first;
                }
            }
            out.first = follower.cpu();
        })
            .join();
        return out;
    };
    auto [apart_cpu, apart_followed] = after_five_seconds(20, 30);
    CHECK(apart_cpu == -1);
    CHECK(apart_followed);  // while trying
    auto [along_cpu, along_followed] = after_five_seconds(30, 20);
    CHECK(along_cpu == cpus->first);
    CHECK(along_followed);
}

TEST_CASE(
    "when_faster: a server's loop follows its client in the first trial's following part, then lets go in its other") {
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    std::string all = own_cpus();
    auto o = test_options(1);
    o.single_client_affinity = porthole::follow_client::when_faster;
    porthole::server s(app, o);
    s.start();
    on_cpu here(cpus->first);
    REQUIRE(here.ok());
    connection a(s.port());
    // Asked without pause: settled after 32 wake-ups, the loop follows for about 60 ms, then
    // serves the client about 60 ms apart, whichever way the trial then keeps.
    std::string const client_cpu = std::to_string(cpus->first);
    bool followed = false, then_let_go = false;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!then_let_go && std::chrono::steady_clock::now() < deadline) {
        auto seen = ask(a, "/cpus");
        REQUIRE(seen);
        followed = followed || *seen == client_cpu;
        then_let_go = followed && *seen == all;
    }
    CHECK(followed);
    CHECK(then_let_go);
}

TEST_CASE("a measured follower keeps the way it found when a connection closes, and starts afresh with none left") {
    using porthole::detail::client_affinity;
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    loopback_pairs pairs(1);
    REQUIRE(pairs.ok());
    send_from(pairs.client(0), cpus->first);
    int followed_after_forget = -1, after_reset = -2;
    std::thread([&] {
        client_affinity follower;
        follower.enable(true, true);
        std::uint64_t work = 0;
        std::int64_t now = 0;
        // Served faster apart; 8 wake-ups a millisecond; returns the wake-ups that followed.
        auto serve = [&](std::int64_t ms) {
            int followed = 0;
            for (std::int64_t end = now + ms; now < end; ++now) {
                for (int k = 0; k < 8; ++k) {
                    follower.step(pairs.servers(), now, work);
                    work += follower.cpu() == cpus->first ? 20 : 30;
                    followed += follower.cpu() == cpus->first ? 1 : 0;
                }
            }
            return followed;
        };
        serve(5000);  // found: apart; the next trial 4 s on at the earliest (holds 1 s, 2 s, 4 s)
        follower.forget();
        followed_after_forget = serve(500);  // settles again: no trial at once
        follower.reset();
        for (std::uint64_t i = 0; i < client_affinity::settle_wakeups; ++i) follower.step(pairs.servers(), now, work);
        after_reset = follower.cpu();  // the first trial follows first
    }).join();
    CHECK(followed_after_forget == 0);
    CHECK(after_reset == cpus->first);
}

TEST_CASE("a measured follower reads its client's CPUs afresh when it starts following again") {
    using porthole::detail::client_affinity;
    using porthole::detail::follow_trial;
    auto cpus = two_cpus();
    if (!cpus) {
        MESSAGE("one CPU: nothing to follow");
        return;
    }
    loopback_pairs pairs(2);
    REQUIRE(pairs.ok());
    send_from(pairs.client(0), cpus->first);
    send_from(pairs.client(1), cpus->first);
    // 8 wake-ups a millisecond, served faster apart. The first trial starts at the settling
    // wake-up; its following part ends warm_ms + trial_ms on, the trial trial_ms + warm_ms after
    // that, and the next one first_hold_ms later (the way changed: the shortest hold).
    constexpr std::int64_t per_ms = 8;
    constexpr std::int64_t first_trial = (client_affinity::settle_wakeups - 1) / per_ms;
    constexpr std::int64_t along_ends = first_trial + follow_trial::warm_ms + follow_trial::trial_ms;
    constexpr std::int64_t next_trial =
        along_ends + follow_trial::warm_ms + follow_trial::trial_ms + follow_trial::first_hold_ms;
    int followed_before = -2, let_go = -2, then_read_after = -1;
    std::thread([&] {
        client_affinity follower;
        follower.enable(true, true);  // measured
        std::uint64_t work = 0;
        std::int64_t wakeup = 0;
        auto wake = [&] {
            follower.step(pairs.servers(), wakeup / per_ms, work);
            work += follower.cpu() == cpus->first ? 20 : 30;
            ++wakeup;
        };
        while (wakeup / per_ms < along_ends - 5) wake();
        followed_before = follower.cpu();
        // The following part's last 5 ms find the connections on two CPUs: 5 looks, the next
        // one 32 wake-ups after the fifth. The part counts (held for 361 wake-ups of 400), the
        // trial lets go, and the hold goes by not following.
        send_from(pairs.client(1), cpus->second);
        while (wakeup / per_ms < next_trial) wake();
        let_go = follower.cpu();
        // The next trial's following part: its first look still finds two CPUs, then they agree.
        // Read again 2 wake-ups on (the back-off afresh), not 64 (the one left from before).
        wake();
        send_from(pairs.client(1), cpus->first);
        for (int i = 1; i <= 1024 && then_read_after < 0; ++i) {
            wake();
            if (follower.cpu() == cpus->first) then_read_after = i;
        }
    }).join();
    CHECK(followed_before == cpus->first);
    CHECK(let_go == -1);
    CHECK(then_read_after == 2);
}
