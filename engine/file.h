#pragma once
// Crash-safe file writes: every file a run keeps (checkpoints, config.json,
// split.json, log.jsonl when rewritten, metrics.json, report.html) is written
// to a temporary file next to it (PATH.tmp.XXXXXX), fsynced, and renamed over
// PATH; then the folder is fsynced so the rename itself is durable. A process
// killed at any moment leaves the old file or the new one, never half of one;
// at worst a stale PATH.tmp.* (remove_stale_temporaries clears them).
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// Writes the pieces, in order, as the new contents of `path`. `what` starts
// the error message ("safetensors", "split", ...), a kiln::Error naming the
// path and the system's reason.
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces, const std::string& what);

// Appends `text` to `path` (created if missing) and fsyncs it. Not atomic: a
// kill in the middle leaves part of `text` at the end (readers of an
// appended log skip a last line that does not parse).
void append_to_file(const std::string& path, std::string_view text, const std::string& what);

// True for the names write_file_atomically gives its temporary files.
bool is_atomic_temporary(const std::string& file_name);
// Removes the temporary files a killed writer left in `folder`; returns how
// many. (Not while another process writes there: a run folder has one writer.)
int remove_stale_temporaries(const std::string& folder);

}  // namespace kiln
