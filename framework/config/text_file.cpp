#include "config/text_file.hpp"

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

}  // namespace meshbot::config
