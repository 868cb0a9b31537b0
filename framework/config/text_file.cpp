#include "config/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace meshbot::config {

std::optional<std::string> read_text_file(const std::filesystem::path& file, int& error) {
    std::error_code ec;
    // Opening a directory succeeds on Linux and only the read fails; name the real problem.
    if (std::filesystem::is_directory(file, ec)) {
        error = EISDIR;
        return std::nullopt;
    }
    errno = 0;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        error = errno != 0 ? errno : ENOENT;
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        error = errno != 0 ? errno : EIO;
        return std::nullopt;
    }
    error = 0;
    return std::move(text).str();
}

bool write_file_durably(const std::filesystem::path& file, std::string_view content) {
    const auto temp = file.string() + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::size_t written = 0;
    while (written < content.size()) {
        const auto n = ::write(fd, content.data() + written, content.size() - written);
        if (n <= 0) {
            ::close(fd);
            ::unlink(temp.c_str());
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    std::error_code ec;
    if (synced) std::filesystem::rename(temp, file, ec);
    if (!synced || ec) {
        ::unlink(temp.c_str());
        return false;
    }
    // The rename itself must reach the disk too.
    const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

}  // namespace meshbot::config
