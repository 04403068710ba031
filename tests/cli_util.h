#pragma once
// Helpers for the tests that run the built `kiln` program (KILN_CLI_PATH) as
// a user does: start it with its output in a file, wait for it or kill it,
// and compare the run folders it leaves (logs without their timing fields,
// checkpoints bit for bit).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"

namespace kiln::test {

// Starts `kiln ARGS...` with stdout and stderr in `output`; returns its pid.
inline pid_t spawn_kiln(const std::vector<std::string>& args, const std::string& output) {
    std::vector<std::string> all{KILN_CLI_PATH};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {  // only async-signal-safe calls until exec
        const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// Waits for `pid`; its exit status, or 128 + the signal that ended it.
inline int wait_kiln(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline int run_kiln(const std::vector<std::string>& args, const std::string& output) {
    return wait_kiln(spawn_kiln(args, output));
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fields of a kiln train log record that measure time or memory, not the
// computation: they differ between identical runs.
inline const std::vector<std::string>& timing_fields() {
    static const std::vector<std::string> fields{"seconds", "images_per_second", "peak_rss_kib"};
    return fields;
}

inline nlohmann::json without_timing(nlohmann::json record) {
    for (const std::string& field : timing_fields()) record.erase(field);
    return record;
}

// log.jsonl, one JSON object per line, without the timing fields.
inline std::vector<nlohmann::json> log_without_timing(const std::filesystem::path& run_dir) {
    std::vector<nlohmann::json> records;
    std::ifstream in(run_dir / "log.jsonl");
    for (std::string line; std::getline(in, line);) records.push_back(without_timing(nlohmann::json::parse(line)));
    return records;
}

// A checkpoint's metadata without the settings `differing` (e.g. "out") of
// the config saved in its training state.
inline std::map<std::string, std::string> comparable_metadata(std::map<std::string, std::string> metadata,
                                                              const std::vector<std::string>& differing) {
    const auto it = metadata.find("train_state");
    if (it != metadata.end()) {
        nlohmann::json state = nlohmann::json::parse(it->second);
        for (const std::string& key : differing) state["config"].erase(key);
        it->second = state.dump();
    }
    return metadata;
}

// Every tensor (model, optimizer state, trainer) byte for byte, and the
// metadata apart from the config settings known to differ (by default the
// run's folder).
inline bool same_checkpoint(const std::filesystem::path& a, const std::filesystem::path& b,
                            const std::vector<std::string>& differing = {"out"}) {
    const SafetensorsContents x = read_safetensors(a.string()), y = read_safetensors(b.string());
    if (comparable_metadata(x.metadata, differing) != comparable_metadata(y.metadata, differing) ||
        x.tensors.size() != y.tensors.size())
        return false;
    for (const auto& [name, tensor] : x.tensors) {
        const auto it = y.tensors.find(name);
        if (it == y.tensors.end() || it->second.dtype() != tensor.dtype() || it->second.shape() != tensor.shape() ||
            std::memcmp(it->second.raw_data(), tensor.raw_data(), size_t(tensor.numel()) * dtype_size(tensor.dtype())) != 0)
            return false;
    }
    return true;
}

}  // namespace kiln::test
