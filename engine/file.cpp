#include "engine/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"

namespace kiln {

namespace {

constexpr std::string_view temporary_suffix = ".tmp.";  // then mkstemp's 6 characters

// write(2) until all is written (it may write less, or be interrupted).
bool write_all(int fd, std::string_view bytes) {
    const char* data = bytes.data();
    size_t size = bytes.size();
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return false;
        data += written;
        size -= size_t(written);
    }
    return true;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces, const std::string& what) {
    const std::string prefix = what + ": " + path + ": ";
    std::string temporary = path + std::string(temporary_suffix) + "XXXXXX";
    const int fd = mkstemp(temporary.data());
    KILN_CHECK(fd >= 0, prefix, "cannot create a temporary file next to it (", std::strerror(errno), ")");
    bool ok = true;
    for (const std::string_view piece : pieces) ok = ok && write_all(fd, piece);
    ok = ok && ::fchmod(fd, 0644) == 0 && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = ok ? errno : saved_errno;
        std::remove(temporary.c_str());
        fail(prefix, "cannot write the file (", std::strerror(error), ")");
    }
    // Make the rename itself durable.
    const size_t slash = path.find_last_of('/');
    const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

void append_to_file(const std::string& path, std::string_view text, const std::string& what) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    KILN_CHECK(fd >= 0, what, ": ", path, ": cannot open the file to append (", std::strerror(errno), ")");
    bool ok = write_all(fd, text) && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ok = (::close(fd) == 0) && ok;
    KILN_CHECK(ok, what, ": ", path, ": cannot append to the file (", std::strerror(saved_errno), ")");
}

bool is_atomic_temporary(const std::string& name) {
    return name.size() > temporary_suffix.size() + 6 &&
           name.compare(name.size() - 6 - temporary_suffix.size(), temporary_suffix.size(), temporary_suffix) == 0;
}

int remove_stale_temporaries(const std::string& folder) {
    namespace fs = std::filesystem;
    std::error_code error;
    int removed = 0;
    for (const auto& entry : fs::directory_iterator(folder, error)) {
        if (entry.is_regular_file(error) && is_atomic_temporary(entry.path().filename().string()) &&
            fs::remove(entry.path(), error))
            ++removed;
    }
    return removed;
}

}  // namespace kiln
