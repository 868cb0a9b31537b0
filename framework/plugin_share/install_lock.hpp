#pragma once
// The scratch area of plugin commands, data_dir/plugin-install/, and the lock that keeps two
// `meshbot plugin` commands (install, update, remove, index add) from changing one data folder
// at once. Main thread.

#include <filesystem>

namespace meshbot::share {

// Held from construction to destruction (flock on <work_dir>/.lock); throws ShareError when
// another command holds it. Once held, what an interrupted command left in `work_dir` (its
// work-* folders) is removed: nobody else can be using it.
class InstallLock {
public:
    explicit InstallLock(const std::filesystem::path& work_dir);
    ~InstallLock();
    InstallLock(const InstallLock&) = delete;
    InstallLock& operator=(const InstallLock&) = delete;

private:
    int fd_ = -1;
};

// A new, empty folder `<parent>/<prefix>XXXXXX`; throws ShareError.
std::filesystem::path make_scratch_folder(const std::filesystem::path& parent,
                                          const std::string& prefix);

}  // namespace meshbot::share
