// follow_trial (client_affinity.hpp), driven by a simulated clock and rate of work: it keeps the
// way a client is served faster (followed to its CPU, or apart), tries the other now and then,
// and follows a client too slow to tell. test_client_affinity.cpp has the loops on real CPUs.
#include <porthole/detail/client_affinity.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace {

// A client whose wake-ups come `per_ms` to a millisecond (every `every` ms), each bringing
// `along` bytes while it is followed and `apart` while not: its rate is the way's. Of every 16
// wake-ups in which it is to be followed, the first `unheld` find it elsewhere (a client moving
// between CPUs, or connections on two).
struct simulated_client {
    porthole::detail::follow_trial trial;
    std::int64_t now = 0;
    std::uint64_t work = 0;
    std::int64_t followed_ms = 0;
    bool held = false;
    unsigned unheld = 0;
    unsigned count = 0;

    bool wake_up() {
        bool follow = trial.follow_now(now, work, held);
        held = follow && count++ % 16 >= unheld;
        return follow;
    }

    // Returns the milliseconds spent following in these.
    std::int64_t run(std::int64_t ms, std::uint64_t along, std::uint64_t apart, std::int64_t every = 1,
                     int per_ms = 8) {
        std::int64_t before = followed_ms;
        for (std::int64_t end = now + ms; now < end; now += every) {
            for (int k = 0; k < per_ms; ++k) {
                bool follow = wake_up();
                if (k == 0) followed_ms += follow ? every : 0;
                work += follow ? along : apart;
            }
        }
        return followed_ms - before;
    }
};

}  // namespace

TEST_CASE("follow_trial keeps the faster way, tries the other now and then, and follows a client too slow to tell") {
    using porthole::detail::follow_trial;
    // One trial: both ways, each a warm-up and a counted part. Over a minute a held way is tried
    // against the other after 1, 2, 4, 8, 16, 16 ... s: at most 8 trials.
    constexpr std::int64_t trial_each_way = follow_trial::warm_ms + follow_trial::trial_ms;
    constexpr std::int64_t minute = 60000;
    constexpr std::int64_t most_trials = 8;

    SUBCASE("served faster apart (1.5x): let go, followed only while trying") {
        simulated_client c;
        std::int64_t followed = c.run(minute, 20, 30);
        CHECK_FALSE(c.trial.following());
        CHECK(followed > 0);
        CHECK(followed <= most_trials * trial_each_way);
        CHECK(c.trial.hold_ms() == follow_trial::longest_hold_ms);
    }
    SUBCASE("served faster followed (1.2x): followed, let go only while trying") {
        simulated_client c;
        std::int64_t followed = c.run(minute, 24, 20);
        CHECK(c.trial.following());
        CHECK(minute - followed > 0);
        CHECK(minute - followed <= most_trials * trial_each_way);
    }
    SUBCASE("a new client is followed at once: every trial serves it followed first") {
        simulated_client c;
        CHECK(c.trial.following());
        CHECK(c.run(trial_each_way, 20, 30) == trial_each_way);
        CHECK(c.run(trial_each_way, 20, 30) == 0);
        c.run(minute, 20, 30);
        REQUIRE_FALSE(c.trial.following());
        // The next trial, at most longest_hold_ms on, starts with its following part too.
        std::int64_t waited = 0;
        while (c.run(1, 20, 30) == 0 && waited < follow_trial::longest_hold_ms) ++waited;
        CHECK(c.run(trial_each_way - 1, 20, 30) == trial_each_way - 1);
    }
    SUBCASE("alike: followed, and tried ever less often") {
        simulated_client c;
        std::vector<std::int64_t> holds;
        for (std::int64_t t = 0; t < minute; t += 1) {
            c.run(1, 20, 20);
            if (holds.empty() || holds.back() != c.trial.hold_ms()) holds.push_back(c.trial.hold_ms());
        }
        CHECK(c.trial.following());
        CHECK(holds == std::vector<std::int64_t>{500, 1000, 2000, 4000, 8000, 16000});
    }
    SUBCASE("apart must be faster by more than a sixteenth") {
        simulated_client within, beyond;
        within.run(minute, 16, 17);
        beyond.run(minute, 16, 18);
        CHECK(within.trial.following());
        CHECK_FALSE(beyond.trial.following());
    }
    SUBCASE("a client too slow to tell is followed, however its trials come out") {
        // Served faster apart, but one wake-up a millisecond: 100 in a trial's counted parts.
        simulated_client slow;
        slow.run(minute, 20, 30, 1, 1);
        CHECK(slow.trial.following());
        simulated_client enough;  // two a millisecond: 200
        enough.run(minute, 20, 30, 1, 2);
        CHECK_FALSE(enough.trial.following());
        // Its wake-ups (or pauses) stretch each trial past twice its length: what such a trial
        // counts says nothing of the way it measures.
        simulated_client paused;
        paused.run(minute, 20, 30, 2 * follow_trial::trial_ms + 1, 400);
        CHECK(paused.trial.following());
        simulated_client prompt;  // the same, wake-ups a trial's length apart: measured
        prompt.run(minute, 20, 30, follow_trial::trial_ms, 400);
        CHECK_FALSE(prompt.trial.following());
    }
    SUBCASE("the faster way changes: the trial after the change finds it, and holds it a second") {
        simulated_client c;
        c.run(minute, 20, 30);
        REQUIRE_FALSE(c.trial.following());
        REQUIRE(c.trial.hold_ms() == follow_trial::longest_hold_ms);
        // A held way is tried again at most longest_hold_ms on.
        std::int64_t waited = 0;
        while (!c.trial.following() && waited < 2 * follow_trial::longest_hold_ms) waited += c.run(1, 30, 20) + 1;
        CHECK(c.trial.following());
        CHECK(waited <= follow_trial::longest_hold_ms + 3 * trial_each_way);
        CHECK(c.trial.hold_ms() == follow_trial::first_hold_ms);
        std::int64_t followed = c.run(minute, 30, 20);
        CHECK(c.trial.following());
        CHECK(minute - followed <= most_trials * trial_each_way);
    }
    SUBCASE("the warm-up after each switch is not counted") {
        // Served alike either way but for a burst in the first milliseconds apart (a backlog the
        // switch lets through): counted, it would make apart look faster; not counted, the
        // client stays followed.
        simulated_client c;
        std::int64_t apart_for = 0;
        for (; c.now < minute; ++c.now) {
            for (int k = 0; k < 8; ++k) {
                bool follow = c.wake_up();
                if (k == 0) apart_for = follow ? 0 : apart_for + 1;
                c.work += follow ? 20 : (apart_for <= follow_trial::warm_ms ? 2000 : 20);
            }
        }
        CHECK(c.trial.following());
    }
    SUBCASE("a following part that could not follow is dropped: the way kept stays, tried again a second on") {
        simulated_client moving, elsewhere;
        moving.run(minute, 20, 30);
        elsewhere.run(minute, 20, 30);
        REQUIRE_FALSE(moving.trial.following());
        REQUIRE_FALSE(elsewhere.trial.following());
        // Now served faster followed. A client found elsewhere in 4 wake-ups of 16 (held in three
        // of four) is measured; one found elsewhere in 5 is not.
        moving.unheld = 4;
        elsewhere.unheld = 5;
        std::int64_t tried = 0;
        bool was_following = false;
        for (std::int64_t t = 0; t < minute; ++t) {
            bool following = elsewhere.run(1, 30, 20) > 0;
            tried += following && !was_following ? 1 : 0;
            was_following = following;
        }
        moving.run(minute, 30, 20);
        CHECK(moving.trial.following());
        CHECK_FALSE(elsewhere.trial.following());
        // a try a second, once the hold the change found is over
        CHECK(tried >= (minute - follow_trial::longest_hold_ms) / (follow_trial::first_hold_ms + trial_each_way));
        CHECK(tried <= minute / follow_trial::first_hold_ms + 1);
    }
    SUBCASE("connections that change drop a trial under way, not the way kept") {
        simulated_client c;
        c.run(minute, 20, 30);
        REQUIRE_FALSE(c.trial.following());
        c.trial.interrupt();  // between trials: nothing
        std::int64_t until_trial = 0;
        while (c.run(1, 30, 20) == 0) ++until_trial;
        CHECK(until_trial > follow_trial::first_hold_ms);  // the hold went on
        c.trial.interrupt();                               // in the following part: dropped
        CHECK(c.run(follow_trial::first_hold_ms - 1, 30, 20) == 0);
        CHECK_FALSE(c.trial.following());
        CHECK(c.run(3 * trial_each_way, 30, 20) > 0);  // tried again a second on
        CHECK(c.trial.following());
    }
}
