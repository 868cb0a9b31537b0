#include "plugin_share/install_lock.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;

InstallLock::InstallLock(const fs::path& work_dir) {
    std::error_code ec;
    fs::create_directories(work_dir, ec);
    const auto file = work_dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw ShareError("cannot open " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        throw ShareError("another `meshbot plugin` command is changing " +
                         work_dir.parent_path().string() + "; try again when it is done");
    }
    for (const auto& entry : fs::directory_iterator(work_dir, ec)) {
        if (entry.path().filename().string().rfind("work-", 0) == 0)
            fs::remove_all(entry.path(), ec);
    }
}

InstallLock::~InstallLock() {
    ::close(fd_);
}

fs::path make_scratch_folder(const fs::path& parent, const std::string& prefix) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string name = (parent / (prefix + "XXXXXX")).string();
    if (!::mkdtemp(name.data()))
        throw ShareError("cannot create a scratch folder in " + parent.string() + ": " +
                         std::strerror(errno));
    return name;
}

}  // namespace meshbot::share
