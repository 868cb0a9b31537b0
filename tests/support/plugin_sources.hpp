#pragma once
// Plugin sources made by a test, as a plugin author would hand them out: a git repository with
// tagged releases of the template plugin, a package file, a plugin folder. Test thread only.

#include <filesystem>
#include <string>
#include <vector>

namespace meshbot::testing {

// The meshbot SDK installed into a scratch prefix by the out-of-tree test (fixture
// template_plugin), and the template plugin built against it there.
std::filesystem::path installed_sdk();
std::filesystem::path built_template();  // .../template-build/plugins/hello

// Runs a program to its end (30 s at most); its exit code and output.
struct Ran {
    int code = -1;
    std::string output;
};
Ran run(const std::vector<std::string>& argv, const std::filesystem::path& dir = {});

// A git repository at `dir` holding examples/plugin-template, with release tags: v1.0.0 as it
// is, v1.1.0 with version 1.1.0 and the greeting "howdy". Returns the repository's folder.
std::filesystem::path make_template_repo(const std::filesystem::path& dir);
// The commit a ref names in that repository.
std::string commit_of(const std::filesystem::path& repo, const std::string& ref);

// A package (<id>/ with the folder's files, README.md, LICENSE and SHA256SUMS, tar.gz) of
// plugin folder `from`, written to `dir`; `edit` runs on the staged folder before the
// checksums are written, `after` after (to damage them). Returns the package file.
std::filesystem::path make_package(const std::filesystem::path& from,
                                   const std::filesystem::path& dir,
                                   void (*edit)(const std::filesystem::path&) = nullptr,
                                   void (*after)(const std::filesystem::path&) = nullptr);

// Replaces `from` by `to` (same length) inside a binary file; false when absent.
bool patch_bytes(const std::filesystem::path& file, const std::string& from, const std::string& to);

}  // namespace meshbot::testing
