// Crash-safe checkpoints (docs/reliability.md): `kiln train` is killed with
// SIGKILL 20 times at random moments, half of them the instant it starts
// writing a file (a checkpoint, config.json, split.json, metrics.json: seen
// through inotify). After every kill each checkpoint in the run folder reads
// whole, and the next `kiln train --resume` continues from the last complete
// checkpoint (never from an earlier one). Each run that gets to its end is
// bit-identical to an uninterrupted one: weights, optimizer state, log
// (timing fields aside), metrics.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/inotify.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "engine/file.h"
#include "engine/safetensors.h"
#include "train/checkpoint_state.h"

using namespace kiln;
using namespace kiln::test;
namespace fs = std::filesystem;

namespace {

constexpr int epochs = 8;

std::vector<std::string> train_args(const fs::path& out) {
    return {"train", "synth:casting:count=24,size=16", "--grayscale", "--size", "16", "--model", "tiny_cnn",
            "--dropout", "0.2", "--epochs", std::to_string(epochs), "--batch-size", "4", "--workers", "1",
            "--threads", "1", "--report", "false", "--seed", "5", "--out", out.string()};
}

// The epoch last.safetensors continues from (0 without one).
int64_t last_epoch(const fs::path& run) {
    if (!fs::exists(run / "last.safetensors")) return 0;
    return train::load_training_checkpoint((run / "last.safetensors").string()).state->json.at("epoch").get<int64_t>();
}

// Everything a kill may leave: each checkpoint reads whole (and the training
// ones with their state), each JSON file parses. Returns the files whose
// write the kill interrupted (their temporaries are there).
std::vector<std::string> check_run_folder(const fs::path& run) {
    std::vector<std::string> interrupted;
    for (const auto& entry : fs::directory_iterator(run)) {
        const std::string name = entry.path().filename().string();
        CAPTURE(name);
        if (is_atomic_temporary(name)) {
            interrupted.push_back(name.substr(0, name.rfind(".tmp.")));
        } else if (entry.path().extension() == ".safetensors") {
            CHECK_NOTHROW(read_safetensors(entry.path().string()));
            if (name != "model.safetensors") {
                const train::LoadedCheckpoint loaded = train::load_training_checkpoint(entry.path().string());
                CHECK(loaded.state.has_value());
            }
        } else if (entry.path().extension() == ".json") {
            CHECK(nlohmann::json::accept(read_text(entry.path())));
        }
    }
    return interrupted;
}

// A finished run against the uninterrupted one.
void check_same_as_reference(const fs::path& run, const fs::path& reference) {
    for (const std::string file : {"model.safetensors", "best.safetensors", "last.safetensors"}) {
        CAPTURE(file);
        CHECK(same_checkpoint(run / file, reference / file));
    }
    const auto log = log_without_timing(run), expected = log_without_timing(reference);
    REQUIRE(log.size() == size_t(epochs) + 1);
    CHECK(log == expected);
    CHECK(without_timing(nlohmann::json::parse(read_text(run / "metrics.json"))) ==
          without_timing(nlohmann::json::parse(read_text(reference / "metrics.json"))));
    for (const auto& entry : fs::directory_iterator(run)) CHECK_FALSE(is_atomic_temporary(entry.path().filename().string()));
}

// Waits up to `timeout` for `pid` to create, in `folder`, a temporary file of
// an atomic write, skipping the first `skip`; then kills it at once. False
// when the process ended first.
bool kill_at_a_write(pid_t pid, int inotify, int skip, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    alignas(inotify_event) char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        siginfo_t info{};
        if (::waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) return false;  // ended
        pollfd p{inotify, POLLIN, 0};
        if (::poll(&p, 1, 5) <= 0) continue;
        const ssize_t n = ::read(inotify, buffer, sizeof buffer);
        for (ssize_t at = 0; at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
            if (event->len > 0 && is_atomic_temporary(event->name) && skip-- == 0) {
                ::kill(pid, SIGKILL);
                return true;
            }
            at += ssize_t(sizeof(inotify_event) + event->len);
        }
    }
    ::kill(pid, SIGKILL);  // no write in time: kill it anyway
    return true;
}

}  // namespace

TEST_CASE("crash-safe checkpoints: kiln train killed 20 times (SIGKILL, some mid-write) resumes from its last complete checkpoint") {
    const fs::path root = fs::temp_directory_path() / ("kiln_test_crash_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    const fs::path reference = root / "reference", run = root / "run", output = root / "output.txt";

    const auto start = std::chrono::steady_clock::now();
    REQUIRE(run_kiln(train_args(reference), output.string()) == 0);
    const auto full_run = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);

    const int inotify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(inotify >= 0);
    std::mt19937 rng(20261123);
    int kills = 0, kills_mid_write = 0, resumes_checked = 0, completed_runs = 0, launches = 0;
    std::map<std::string, int> writes_interrupted;  // file -> kills during its write
    fs::create_directories(run);
    int watch = ::inotify_add_watch(inotify, run.c_str(), IN_CREATE);
    REQUIRE(watch >= 0);
    while (kills < 20) {
        const int64_t before = last_epoch(run);
        const bool resuming = fs::exists(run / "last.safetensors");
        const std::vector<std::string> args = resuming ? std::vector<std::string>{"train", "--resume", run.string()} : train_args(run);
        ++launches;
        const pid_t pid = spawn_kiln(args, output.string());
        bool killed;
        if (kills % 2 == 0) {
            // At a random moment of a run's length (start-up, an epoch, a write, the end).
            std::this_thread::sleep_for(std::chrono::microseconds(
                std::uniform_int_distribution<int64_t>(0, 1000 * int64_t(full_run.count()) * 3 / 4)(rng)));
            killed = ::kill(pid, SIGKILL) == 0;
        } else {
            // The instant it starts writing a file (the first to the fourth write from here).
            killed = kill_at_a_write(pid, inotify, std::uniform_int_distribution<int>(0, 3)(rng), 4 * full_run + std::chrono::seconds(5));
        }
        const int status = wait_kiln(pid);
        const std::string printed = read_text(output);
        CAPTURE(printed);
        if (killed && status == 128 + SIGKILL) {
            ++kills;
            const std::vector<std::string> interrupted = check_run_folder(run);
            kills_mid_write += !interrupted.empty();
            for (const std::string& file : interrupted) ++writes_interrupted[file];
            const int64_t after = last_epoch(run);
            CHECK(after >= before);  // a kill never takes the run back
            // The resumed process said where it continued: at the checkpoint's epoch.
            const std::string said = "resuming " + run.string() + " at epoch " + std::to_string(before + 1) + ",";
            if (resuming && printed.find("resuming ") != std::string::npos) {
                CHECK(printed.find(said) != std::string::npos);
                ++resumes_checked;
            }
        } else {
            // It ended before the kill: a finished run, the same as the uninterrupted one.
            REQUIRE(status == 0);
            check_same_as_reference(run, reference);
            ++completed_runs;
            ::inotify_rm_watch(inotify, watch);
            fs::remove_all(run);
            fs::create_directories(run);
            watch = ::inotify_add_watch(inotify, run.c_str(), IN_CREATE);
        }
        // Drop events of the killed process.
        char drain[4096];
        while (::read(inotify, drain, sizeof drain) > 0) {
        }
    }
    ::close(inotify);
    // The last run, left to finish: resumed as often as it was killed.
    const bool resuming = fs::exists(run / "last.safetensors");
    REQUIRE(run_kiln(resuming ? std::vector<std::string>{"train", "--resume", run.string()} : train_args(run), output.string()) == 0);
    check_same_as_reference(run, reference);
    ++completed_runs;
    std::string files;
    for (const auto& [file, count] : writes_interrupted) files += (files.empty() ? "" : ", ") + file + " " + std::to_string(count);
    std::printf("crash-safe: %d SIGKILLs survived (%d during a file write: %s; %d resumes checked), %d launches, "
                "%d runs finished bit-identical to the uninterrupted one (which took %lld ms)\n",
                kills, kills_mid_write, files.c_str(), resumes_checked, launches + 1, completed_runs, (long long)full_run.count());
    CHECK(kills == 20);
    CHECK(kills_mid_write >= 1);  // the write-triggered kills do land inside writes
    fs::remove_all(root);
}
