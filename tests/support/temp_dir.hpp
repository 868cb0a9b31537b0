#pragma once
// A private directory under the system temp dir for one test, removed afterwards.

#include <filesystem>
#include <string>
#include <string_view>

namespace meshbot::testing {

// Owns the directory tree; set MESHBOT_KEEP_TMP=1 to keep it for a post-mortem. Test thread.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Writes `content` to path()/name (creating parent folders) and returns the full path.
    std::filesystem::path write(const std::string& name, std::string_view content) const;

private:
    std::filesystem::path path_;
};

// The whole file's bytes; REQUIREs that it can be read.
std::string file_text(const std::filesystem::path& path);
// `text` with its one occurrence of `from` replaced by `to`; REQUIREs exactly one.
std::string replaced_once(std::string text, std::string_view from, std::string_view to);

}  // namespace meshbot::testing
